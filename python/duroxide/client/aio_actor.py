"""AsyncActorRef: what `actor(type, key)` of the async clients returns (client/aio.py)."""

from __future__ import annotations

import json
from typing import Any, Dict

from duroxide.workflow.actors import (
    ACTOR_OPERATION,
    ACTOR_QUEUE,
    STATE_KEY,
    ActorAddress,
)
from duroxide.workflow.messages import DEFAULT_REQUEST_TIMEOUT_MS


class AsyncActorRef(ActorAddress):
    """client.actor(type, key) of an async client: send, request and state are coroutines."""

    async def send(self, data: Any = None) -> str:
        return str(await self._client.send_message(self.instance_id, ACTOR_QUEUE, data))

    async def request(self, data: Any = None,
                      timeout_ms: int = DEFAULT_REQUEST_TIMEOUT_MS) -> Any:
        return await self._client.request(self.instance_id, ACTOR_OPERATION, data, timeout_ms)

    async def state(self) -> Dict[str, Any]:
        raw = await self._client.get_kv_value(self.instance_id, STATE_KEY)
        if not raw:
            return {}
        value = json.loads(raw)
        return value if isinstance(value, dict) else {}
