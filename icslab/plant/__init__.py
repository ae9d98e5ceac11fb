"""A live plant per team: the water works simulator stepped in real time behind five
Modbus/TCP PLCs, attacked live by the instructor, watched by the team.

In a participant's notebook:

    import icslab.plant
    plant = icslab.plant.connect()
    live = plant.history("15min")
    icslab.plant.alert("LIT101 flat while the pumps run", tags=["LIT101"])

On the lab server: `icslab plant up | status | attack | stop-attack | reset | down`.
"""

from icslab.plant.alerting import alert
from icslab.plant.client import connect

__all__ = ["alert", "connect"]
