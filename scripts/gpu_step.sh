# Shared by the GPU session scripts: `step NAME SECONDS command...` runs one check under its own time
# limit with its own log under $OUT, so one failing step does not hide the others; prints the log's tail
# ($TAIL lines, default 25) and the exit status.
step() {
    local name=$1 limit=$2; shift 2
    local t0=$SECONDS
    echo "=== $name (limit ${limit}s)"
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    tail -n "${TAIL:-25}" "$OUT/$name.log"
    echo "=== $name: rc=$rc in $((SECONDS - t0))s"
}
