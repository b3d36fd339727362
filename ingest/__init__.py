"""Turn markdown runbooks and postmortems into indexed, citable sections."""
