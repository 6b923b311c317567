"""Reads Parquet files with DuckDB, as an analyst would, for tests/exports.rs.

Prints one JSON object: per file, its columns (name and DuckDB type) and its rows, instants as
microseconds since the Unix epoch.
"""

import json
import sys

import duckdb


def main(paths):
    out = {}
    for path in paths:
        relation = duckdb.read_parquet(path)
        columns = list(zip(relation.columns, (str(t) for t in relation.types)))
        select = ", ".join(
            f'epoch_us("{name}")' if kind.startswith("TIMESTAMP") else f'"{name}"'
            for name, kind in columns
        )
        rows = duckdb.sql(f"SELECT {select} FROM read_parquet('{path}')").fetchall()
        out[path] = {"columns": columns, "rows": [list(row) for row in rows]}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
