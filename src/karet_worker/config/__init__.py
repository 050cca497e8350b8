"""The pipeline config: its model (`model`) and the rules beyond its shape (`validate`)."""
