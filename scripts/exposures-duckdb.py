#!/usr/bin/env python3
"""Reads the exposure objects of a local `wrangler dev` R2 bucket with DuckDB.

Miniflare keeps a local R2 bucket under wrangler dev's --persist-to
directory as a SQLite index (v3/r2/miniflare-R2BucketObject/*.sqlite, table
_mf_objects: key -> blob_id) and one file per object body
(v3/r2/<bucket>/blobs/<blob_id>). This script copies every object under
--prefix to --out at its R2 key, which gives the Hive-partitioned layout
exposures/v1/tenant=T/date=D/hour=H/*.ndjson.gz exactly as the bucket has
it, then asks DuckDB (PyPI `duckdb`, installed by scripts/install-toolchain.sh)
for the counts per tenant, flag, snapshot version, assignment and variant:
events (lines), distinct event ids and distinct units. Prints JSON:

  {"objects": N, "bytes": B, "lines": L, "distinct_events": E,
   "rows": [{"tenant", "flag", "snapshot_version", "assignment", "variant",
             "lines", "events", "units"}, ...]}

Usage: exposures-duckdb.py --state DIR --out DIR [--bucket vane-exposures]
                           [--prefix exposures/v1/] [--export-only]
"""

import argparse
import glob
import json
import os
import shutil
import sqlite3
import sys

import duckdb


def export(state, bucket, prefix, out):
    """Copies the objects under prefix to out/<key>; returns (count, bytes)."""
    index = [
        f
        for f in glob.glob(os.path.join(state, "v3/r2/miniflare-R2BucketObject/*.sqlite"))
        if os.path.basename(f) != "metadata.sqlite"
    ]
    blobs = os.path.join(state, "v3/r2", bucket, "blobs")
    count = size = 0
    for db in index:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            rows = con.execute(
                "SELECT key, blob_id, size FROM _mf_objects WHERE key >= ? AND key < ?",
                (prefix, prefix + "\uffff"),
            ).fetchall()
        except sqlite3.OperationalError:
            continue  # another bucket's index without objects
        finally:
            con.close()
        for key, blob_id, length in rows:
            source = os.path.join(blobs, blob_id)
            if not os.path.exists(source):
                continue  # an object of another bucket
            target = os.path.join(out, key)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(source, target)
            count += 1
            size += length
    return count, size


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--state", required=True, help="wrangler dev's --persist-to directory")
    p.add_argument("--out", required=True, help="directory to copy the objects to")
    p.add_argument("--bucket", default="vane-exposures")
    p.add_argument("--prefix", default="exposures/v1/")
    p.add_argument("--export-only", action="store_true", help="copy the objects, query nothing")
    a = p.parse_args()
    objects, size = export(a.state, a.bucket, a.prefix, a.out)
    if a.export_only:
        json.dump({"objects": objects, "bytes": size}, sys.stdout)
        print()
        return
    result = {"objects": objects, "bytes": size, "lines": 0, "distinct_events": 0, "rows": []}
    if objects:
        files = os.path.join(a.out, a.prefix, "*", "*", "*", "*.ndjson.gz")
        con = duckdb.connect()
        quoted = files.replace("'", "''")
        con.execute(
            f"CREATE VIEW exposures AS SELECT * FROM read_json('{quoted}', "
            "format = 'newline_delimited', hive_partitioning = true, union_by_name = true)"
        )
        result["lines"], result["distinct_events"] = con.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM exposures"
        ).fetchone()
        rows = con.execute(
            "SELECT tenant, flag, snapshot_version, assignment, variant, count(*), "
            "count(DISTINCT event_id), count(DISTINCT unit) FROM exposures "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        names = ["tenant", "flag", "snapshot_version", "assignment", "variant", "lines", "events", "units"]
        result["rows"] = [dict(zip(names, r)) for r in rows]
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
