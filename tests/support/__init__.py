"""Test infrastructure shared by several test folders: the SeaweedFS server and free ports."""
