"""The outside systems Shua Pay talks to, one per process: the bank connector and the notifier
that carries one-time codes. Built on first use from the settings unless a deployment (or a
test) installed its own in `runtime.extras`."""

from __future__ import annotations

from shua.core.notify import DevInbox, Notifier
from shua.payments.bank import BankConnector, SimulatedBank
from shua.runtime import Runtime


def bank_of(runtime: Runtime) -> BankConnector:
    """The simulated bank unless a deployment installed a real one."""
    found = runtime.extras.get("bank")
    if found is None:
        settings = runtime.settings
        found = runtime.extras["bank"] = SimulatedBank(
            secret=settings.secret_key + ":bank-webhooks", database=runtime.database,
            delay=settings.simbank_delay_seconds, duplicate=settings.simbank_duplicate_rate,
            decline=settings.simbank_decline_rate)
    return found  # type: ignore[return-value]


def notifier_of(runtime: Runtime) -> Notifier:
    found = runtime.extras.get("notifier")
    if found is None:
        found = runtime.extras["notifier"] = DevInbox()
    return found  # type: ignore[return-value]
