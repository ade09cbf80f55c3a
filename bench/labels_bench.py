"""Labels benchmark: one batch of N labels (default 500) bought against the EasyPost fake (tests/fakes/easypost),
as the batch job's worker runs it (labels.services.batches.label_batch_run), in one run.

    .venv/bin/python bench/labels_bench.py [--quick | --smoke] [--orders N] [--database-url postgres://.../switchboard_labels_bench]

1. Labels per second through the whole batch (rates, buy, label file fetched and stored, the shipment
   shipped through orders, progress written per order), beside the fake's own floor: the minimum time of each
   call a label needs (create the shipment with its rates, buy, download the file), measured with a bare HTTP
   client against the same fake in the same run and summed per label. overhead ratio = our seconds per label /
   the fake's floor per label.
2. Peak worker memory: the batch runs in a forked child (a worker's process), whose VmHWM (peak resident set)
   is read at the end beside its VmRSS before the batch.
3. The merged PDF: its size and the time to build it (every label's PDF read back from storage and merged with
   pypdf), timed again on its own after the batch.
Label files go to local disk (a temporary MEDIA_ROOT).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import setup_django  # noqa: E402
from bench.integrations_bench import machine, new_merchant  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/switchboard_labels_bench"


def _proc_status(field: str, pid: str = "self") -> int:
    """A /proc/<pid>/status figure in KiB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def orders_pending(merchant, n: int) -> list[int]:
    """N orders of 2 × 500 g each, each with a pending shipment of all of it (as the order list's bulk
    action leaves them), and an EasyPost account on the fake."""
    from accounts.tenancy import tenant_scope
    from tests.labels.helpers import easypost_account, pending_shipment

    with tenant_scope(merchant):
        easypost_account(merchant)
        return [pending_shipment(merchant, number=f"L{i:05}", on_hand=10 * n).order_id for i in range(n)]


def run_batch_in_child(merchant_id: int, order_ids: list[int]) -> dict:
    """Fork a worker: it creates the batch, whose job runs in it (tasks are eager here, sent on commit: the
    worker's task body), and reports the batch, its time and its memory through a pipe."""
    from django.db import connections

    connections.close_all()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker
        os.close(read)
        code = 0
        try:
            from accounts.models import Merchant
            from accounts.tenancy import tenant_scope
            from labels.services.batches import label_batch_create

            merchant = Merchant.objects.get(pk=merchant_id)
            rss_before = _proc_status("VmRSS")
            started = time.perf_counter()
            with tenant_scope(merchant):
                batch = label_batch_create(merchant=merchant, actor=None, order_ids=order_ids, rule="cheapest")
            seconds = time.perf_counter() - started
            report = {"batch": batch.pk, "seconds": seconds, "rss_before_kib": rss_before,
                      "peak_kib": _proc_status("VmHWM")}
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the run
            report, code = {"error": f"{type(exc).__name__}: {exc}"}, 1
        with os.fdopen(write, "w") as pipe:
            pipe.write(json.dumps(report))
        connections.close_all()
        os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        report = json.loads(pipe.read() or "{}")
    os.waitpid(pid, 0)
    if "error" in report:
        raise SystemExit(f"the batch worker failed: {report['error']}")
    return report


def fake_floor(fake, merchant, samples: int) -> dict:
    """The fake's own minimum time per call, for each call a label needs, with a bare keep-alive client:
    what no client of ours can beat."""
    import requests

    from accounts.tenancy import tenant_scope
    from labels.carriers.easypost import mapping
    from labels.services.purchase import shipment_label_request
    from orders.models import Shipment
    from tests.fakes.easypost.fixtures import EASYPOST_KEY
    from tests.labels.helpers import pending_shipment

    with tenant_scope(merchant):
        shipment = pending_shipment(merchant, number="FLOOR", on_hand=10)
        request = shipment_label_request(merchant=merchant, shipment=Shipment.objects.get(pk=shipment.pk))
    body = {"shipment": mapping.shipment_params(request)}
    session = requests.Session()
    session.auth = (EASYPOST_KEY, "")
    best = {"create": float("inf"), "buy": float("inf"), "download": float("inf")}
    for _ in range(samples):
        t0 = time.perf_counter()
        created = session.post(f"{fake.base_url}/shipments", json=body, timeout=10).json()
        t1 = time.perf_counter()
        bought = session.post(f"{fake.base_url}/shipments/{created['id']}/buy",
                              json={"rate": {"id": created["rates"][0]["id"]}}, timeout=10).json()
        t2 = time.perf_counter()
        content = session.get(bought["postage_label"]["label_url"], timeout=10).content
        t3 = time.perf_counter()
        assert content.startswith(b"%PDF")
        best = {"create": min(best["create"], t1 - t0), "buy": min(best["buy"], t2 - t1),
                "download": min(best["download"], t3 - t2)}
    return {"samples": samples, **{f"{k}_ms": round(v * 1000, 2) for k, v in best.items()},
            "per_label_ms": round(sum(best.values()) * 1000, 2)}


def bench_batch(fake, *, n: int, samples: int) -> dict:
    from accounts.tenancy import tenant_scope
    from labels.models import Label, LabelBatch
    from labels.services.batches import _merge

    merchant = new_merchant("Labels bench")
    order_ids = orders_pending(merchant, n)
    purchases_before = len(fake.purchases)
    worker = run_batch_in_child(merchant.pk, order_ids)
    with tenant_scope(merchant):
        batch = LabelBatch.objects.get(pk=worker["batch"])
        ok = sum(1 for r in batch.results if r["ok"])
        labels = Label.objects.filter(merchant=merchant, status=Label.Status.BOUGHT).count()
        started = time.perf_counter()
        _merge(merchant, batch)  # the merged PDF again, timed on its own
        merge_seconds = time.perf_counter() - started
        size = batch.merged_pdf.size
    if ok != n or labels != n or len(fake.purchases) - purchases_before != n:
        raise SystemExit(f"expected {n} labels, got {ok} results ok, {labels} labels, "
                         f"{len(fake.purchases) - purchases_before} purchases at the fake")
    floor = fake_floor(fake, merchant, samples)
    per_label = worker["seconds"] / n
    return {
        "labels": n, "batch_seconds": round(worker["seconds"], 2), "labels_per_second": round(n / worker["seconds"], 1),
        "ms_per_label": round(per_label * 1000, 1), "fake_floor": floor,
        "fake_floor_labels_per_second": round(1000 / floor["per_label_ms"], 1),
        "overhead_ratio": round(per_label * 1000 / floor["per_label_ms"], 1),
        "worker_rss_before_mib": round(worker["rss_before_kib"] / 1024, 1),
        "worker_peak_mib": round(worker["peak_kib"] / 1024, 1),
        "merged_pdf_bytes": size, "merged_pdf_kib_per_label": round(size / 1024 / n, 2),
        "merge_seconds": round(merge_seconds, 2),
    }


def markdown(out: dict) -> str:
    b = out["batch"]
    f = b["fake_floor"]
    return "\n".join([
        f"Machine: {out['machine']}; {out['date']}.",
        "",
        "| Figure | Value |",
        "|---|---|",
        f"| Batch of {b['labels']} labels (worker body, one process) | {b['batch_seconds']} s: "
        f"**{b['labels_per_second']} labels/s**, {b['ms_per_label']} ms per label |",
        f"| The fake's floor per label (min of {f['samples']}: create {f['create_ms']} + buy {f['buy_ms']} + "
        f"download {f['download_ms']} ms) | {f['per_label_ms']} ms: {b['fake_floor_labels_per_second']} labels/s |",
        f"| Overhead ratio (ours / the fake's floor) | **{b['overhead_ratio']}×** |",
        f"| Worker memory: RSS before the batch → peak (VmHWM) | {b['worker_rss_before_mib']} → "
        f"**{b['worker_peak_mib']} MiB** |",
        f"| Merged PDF ({b['labels']} pages) | **{b['merged_pdf_bytes'] / 1024:.0f} KiB** "
        f"({b['merged_pdf_kib_per_label']} KiB a label), built in **{b['merge_seconds']} s** |",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (100 labels)")
    parser.add_argument("--smoke", action="store_true",
                        help="CI (make bench-smoke): tiny sizes, a few seconds; proves the benchmark runs, measures nothing")
    parser.add_argument("--orders", type=int, help="labels in the batch (default 500)")
    parser.add_argument("--database-url", default=os.environ.get("LABELS_BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--json", help="write the results here as JSON")
    args = parser.parse_args()
    media = tempfile.mkdtemp(prefix="labels-bench-")
    setup_django(args.database_url)
    from django.conf import settings

    from tests.fakes.easypost.server import EasyPostFake

    settings.MEDIA_ROOT = media
    settings.OUTBOUND_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    n = args.orders or (5 if args.smoke else 100 if args.quick else 500)
    out = {"machine": machine(), "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "quick": args.quick}
    print(out["machine"], out["date"], flush=True)
    with EasyPostFake(("EZTK_fake_key",)) as fake:
        settings.EASYPOST_API_BASE_URL = fake.base_url
        out["batch"] = bench_batch(fake, n=n, samples=20 if args.smoke else 200)
        print(f"batch: {out['batch']}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))
    print("\n" + markdown(out))


if __name__ == "__main__":
    main()
