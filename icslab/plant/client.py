"""A team's live plant, from a participant's notebook.

    plant = icslab.plant.connect()
    plant.registers                 # the register map: tag, PLC, unit id, address, scale
    plant.read()                    # every tag now, read off the PLCs over Modbus/TCP
    live = plant.history("15min")   # the historian, shaped as load_plant(...).features
    for rows in plant.stream():     # new rows as they arrive
    plant.traffic("15min")          # the Modbus transactions, as load_plant(...).modbus()
        ...

`history` gives the same columns, dtypes and UTC index as the recorded datasets, so a
detector fitted on `load_plant("train").features` runs on it unchanged.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator

import httpx
import pandas as pd

PLANT_URL_ENV = "ICSLAB_PLANT_URL"  # a plant's data API, when not the lab's (tests)
TIMEOUT = 10.0


class NoPlant(RuntimeError):
    pass


class Plant:
    def __init__(self, url: str):
        self.url = url.rstrip("/") + "/"
        self._http = httpx.Client(base_url=self.url, timeout=TIMEOUT)
        tags = self._get("registers").json()["tags"]
        self.registers = pd.DataFrame(tags).set_index("tag")

    def _get(self, path: str, **params) -> httpx.Response:
        try:
            answer = self._http.get(path, params=params)
        except httpx.TransportError as error:
            raise NoPlant(f"your team's plant at {self.url} does not answer ({error})") from None
        if answer.status_code != 200:
            raise NoPlant(f"the plant answered {answer.status_code}: {answer.text.strip()}")
        return answer

    def history(self, period: str | pd.Timedelta = "15min") -> pd.DataFrame:
        """The last `period` of the live historian (one row per plant second)."""
        seconds = pd.Timedelta(period).total_seconds()
        if seconds <= 0:
            raise ValueError(f"period {period!r}: a positive duration such as '15min'")
        return self._frame(last=seconds)

    def traffic(self, period: str | pd.Timedelta = "15min") -> pd.DataFrame:
        """The Modbus/TCP transactions the PLCs answered in the last `period`, shaped as
        `load_plant(...).modbus()`: the HMI's polls, and whatever else reached them."""
        import pyarrow.parquet as pq

        from icslab.formats import traffic_to_pandas

        seconds = pd.Timedelta(period).total_seconds()
        if seconds <= 0:
            raise ValueError(f"period {period!r}: a positive duration such as '15min'")
        body = self._get("traffic", last=seconds).content
        return traffic_to_pandas(pq.read_table(io.BytesIO(body)))

    def stream(self, every: float = 1.0) -> Iterator[pd.DataFrame]:
        """The rows that arrived since the last (a DataFrame each time there are some),
        from now on."""
        latest = self.history("1min").index.max()
        while True:
            if pd.isna(latest):  # a plant with no history yet
                rows = self.history("1min")
            else:
                rows = self._frame(after=latest.isoformat())
            if len(rows):
                latest = rows.index.max()
                yield rows
            else:
                time.sleep(every)  # the plant makes a row a second: asking faster gains nothing

    def read(self) -> pd.Series:
        """Every tag's value now, read off the PLCs themselves (Modbus/TCP, FC 3)."""
        from pymodbus.client import ModbusTcpClient

        from icslab.plant.plc import engineering_value
        from icslab.sim.tags import BY_NAME

        values = {}
        for (host, port, unit), tags in self.registers.groupby(["host", "port", "unit_id"]):
            client = ModbusTcpClient(host, port=int(port), timeout=TIMEOUT)
            try:
                if not client.connect():
                    raise NoPlant(f"PLC at {host}:{port} does not answer")
                first, count = int(tags["register"].min()), len(tags)
                answer = client.read_holding_registers(first, count=count, device_id=int(unit))
                if answer.isError():
                    raise NoPlant(f"PLC at {host}:{port} answered {answer}")
            finally:
                client.close()
            for tag, row in tags.iterrows():
                raw = answer.registers[int(row["register"]) - first]
                values[tag] = engineering_value(raw, BY_NAME[tag])
        return pd.Series(values)[self.registers.index]

    def _frame(self, **params) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(self._get("history", **params).content))


def connect(url: str | None = None) -> Plant:
    """Your team's live plant: the lab's room service says where it is (your team comes
    from your server's hub token), unless `url` or $ICSLAB_PLANT_URL says."""
    url = url or os.environ.get(PLANT_URL_ENV) or _ask_the_lab()
    return Plant(url)


def _ask_the_lab() -> str:
    from icslab.lab import room_endpoint

    endpoint = room_endpoint("plant")
    if endpoint is None:
        raise NoPlant("not in a lab's server: give connect() the plant's url")
    where, token = endpoint
    try:
        answer = httpx.get(where, headers={"Authorization": f"token {token}"}, timeout=TIMEOUT)
    except httpx.TransportError as error:
        raise NoPlant(f"the lab's room service does not answer ({error})") from None
    if answer.status_code != 200:
        raise NoPlant(answer.text.strip())
    return answer.json()["url"]
