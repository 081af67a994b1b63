"""Server-side render time of a grid page at scale.

    .venv/bin/python benchmarks/bench_grid_page.py [--ws benchmarks/data/ws --db benchmarks/data/bench.db]

Uses the workspace and database made by bench_engine.py (run that first, e.g. with
--rows 1000000), signs in as the admin and times GET of the visits grid: the first page,
a filtered and sorted page, a deep page and a search, each p50/p99 over repeated requests.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ws", type=Path, default=ROOT / "benchmarks" / "data" / "ws")
    parser.add_argument("--db", type=Path, default=ROOT / "benchmarks" / "data" / "bench.db")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    import re

    from starlette.testclient import TestClient

    from engine import Workspace
    from engine.auth import hash_password
    from gridbase.app import create_app

    ws = Workspace.open(args.ws, db=args.db)
    ws.apply()
    with ws.storage.transaction():
        ws.storage.conn.execute("UPDATE _gb_people SET password_hash = ? WHERE key = 'admin'", (hash_password("bench-pass"),))
    rows = ws.storage.conn.execute('SELECT count(*) FROM "clinic__visits"').fetchone()[0]
    client = TestClient(create_app(ws, automations=False))
    login = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    client.post("/login", data={"username": "admin", "password": "bench-pass", "csrf_token": token.group(1) if token else ""})
    cases = {
        "first page": "/b/clinic/t/visits",
        "filtered + sorted (link filter)": "/b/clinic/t/visits?f=status&op=eq&v=open",
        "page 200": "/b/clinic/t/visits?offset=10000",
        "search": "/b/clinic/t/visits?q=visit%2012345",
    }
    print(f"grid page render, {rows:,} rows, {args.repeat} requests each")
    for name, url in cases.items():
        assert client.get(url).status_code == 200
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        times.sort()
        print(f"  {name:<34} p50 {statistics.median(times):8.1f} ms   p99 {times[-1]:8.1f} ms   (target p50 < 300 ms)")
    ws.close()


if __name__ == "__main__":
    main()
