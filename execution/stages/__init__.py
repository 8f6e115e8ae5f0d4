"""The six stage handlers (plus the final-state handlers), registered by name.

Each handler has the signature ``handler(ctx, run) -> event | None``: it
returns the event that ends its stage, or ``None`` when the stage continues in
an asyncio task that dispatches the event itself later.
"""
