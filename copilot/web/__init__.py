"""The war-room page: server-rendered HTML whose data comes from /v1 with the caller's key."""
