"""The channel layer's settings (imported by settings.py, so nothing here needs Django)."""

# channels-redis waits for a process's next message with a blocking BZPOPMIN of 5 s
# (RedisChannelLayer.brpop_timeout). redis-py 8 reads with a 5 s socket timeout by default
# (none before), so every idle websocket died with 1011 after 5 s ("Timeout reading from …").
# The read must outlast that wait; a Redis that stopped answering still shows within 15 s.
REDIS_SOCKET_TIMEOUT = 15.0
REDIS_CONNECT_TIMEOUT = 5.0


def redis_layer(url: str) -> dict:
    """Channels' CHANNEL_LAYERS entry for several portal processes sharing the Redis at `url`."""
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": url,
                    "socket_timeout": REDIS_SOCKET_TIMEOUT,
                    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                }
            ]
        },
    }
