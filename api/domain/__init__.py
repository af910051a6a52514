"""Pure rules of the API: lifecycle, SLA clocks, dispatch policy, permissions, and the
domain errors. Nothing here touches a database, a clock or HTTP."""
