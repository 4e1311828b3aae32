"""Carriers (物流): the connector a real carrier plugs in behind, and the simulated one the demo
and tests use — it reports the parcel picked up, in transit, out for delivery and delivered, one
step every `step_seconds`, each as a job (so a crash loses no step and a repeat adds none)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from shua.core import clock, jobs

CARRIERS = {"sf": "顺丰速运", "jd": "京东物流", "zto": "中通快递", "yto": "圆通速递", "ems": "EMS"}
# (status, the carrier's own words); pages name the status in the reader's language.
STEPS = [("picked_up", "快递员已揽件"), ("in_transit", "运输中，已到达转运中心"), ("out_for_delivery", "派送中"),
         ("delivered", "已签收")]
STEP_TASK = "commerce.carrier_step"


class CarrierConnector(Protocol):
    async def register(self, db: AsyncSession, *, order_id: int, carrier: str, tracking_number: str) -> None: ...


@dataclass
class SimulatedCarrier:
    step_seconds: float = 0.0

    async def register(self, db: AsyncSession, *, order_id: int, carrier: str, tracking_number: str) -> None:
        now = clock.utcnow()
        for n in range(len(STEPS)):
            await jobs.enqueue(db, STEP_TASK, {"order_id": str(order_id), "step": n},
                               run_at=now + timedelta(seconds=self.step_seconds * (n + 1)))
