#!/usr/bin/env python3
"""peer_client.py: the usual Python benchmark client, as a peer for scripts/bench-peers.sh.

An asyncio + aiohttp client that measures the way `vllm bench serve` does
(vllm/benchmarks/lib/endpoint_request_func.py, async_request_openai_completions): one
aiohttp.ClientSession, time.perf_counter() taken before the POST, the response read line by
line (`async for chunk in response.content`), each `data:` line parsed with json.loads, the
first chunk whose choices[0].text is not empty is the first token (TTFT = its time - start),
each later one adds an inter-token latency, E2E = the last chunk's time - start. Closed loop:
CONCURRENCY workers, each sends its next request when the previous one has ended, until
REQUESTS have been sent.

Prints one JSON object: requests, ok, failed, wall_s, req_per_s, cpu_s (this process),
ttft/itl/e2e p50/p99 in ms, and, with --records FILE, writes one line per measured request
"<id> <t_first_ns>" (CLOCK_MONOTONIC ns, the clock of the sim's send log) so that the TTFT
error can be computed against the sim's send log. The first --warmup requests are sent but
not counted. Needs python3-aiohttp.
"""
import argparse
import asyncio
import json
import sys
import time


def pct(v, p):
    """Linear interpolation on sorted samples, as docs/METRICS.md."""
    v = sorted(v)
    if not v:
        return None
    x = p * (len(v) - 1)
    i = int(x)
    return v[i] if i + 1 >= len(v) else v[i] + (v[i + 1] - v[i]) * (x - i)


async def one(session, url, body, rid, out):
    """One request, measured as vLLM's benchmark client does."""
    headers = {"X-LLMBench-Request-Id": rid}
    ttft, itl, first_ns = None, [], None
    st = time.perf_counter()
    latest = st
    ok = False
    try:
        async with session.post(url, json=body, headers=headers) as resp:
            if resp.status == 200:
                async for chunk_bytes in resp.content:
                    chunk_bytes = chunk_bytes.strip()
                    if not chunk_bytes:
                        continue
                    chunk = chunk_bytes.decode("utf-8")
                    if chunk.startswith("data: "):
                        chunk = chunk[6:]
                    if chunk == "[DONE]":
                        continue
                    data = json.loads(chunk)
                    choices = data.get("choices")
                    if choices and choices[0].get("text"):
                        ts = time.perf_counter()
                        if ttft is None:
                            first_ns = time.perf_counter_ns()
                            ttft = ts - st
                        else:
                            itl.append(ts - latest)
                        latest = ts
                ok = ttft is not None
            else:
                await resp.read()
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        ok = False
    out.append((rid, ok, ttft, itl, latest - st, first_ns))


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True, help="http://HOST:PORT/v1/completions")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=0)
    ap.add_argument("--max-tokens", type=int, default=1)
    ap.add_argument("--records", help="write '<id> <t_first_ns>' per measured request")
    ap.add_argument("--id-prefix", default="peer-")
    a = ap.parse_args()
    info = time.get_clock_info("perf_counter")
    if a.records and "CLOCK_MONOTONIC" not in info.implementation:
        print(json.dumps({"error": "perf_counter is %s, not CLOCK_MONOTONIC: cannot join "
                          "with the send log" % info.implementation}))
        return 2
    body = {"model": "sim", "prompt": "What is the capital of France?",
            "max_tokens": a.max_tokens, "ignore_eos": True, "stream": True,
            "stream_options": {"include_usage": True}}
    timeout = aiohttp.ClientTimeout(total=6 * 60 * 60)
    conn = aiohttp.TCPConnector(limit=a.concurrency)
    out = []
    counter = iter(range(a.requests + a.warmup))
    t_start = [None]

    async def worker(session):
        for n in counter:
            if n == a.warmup and t_start[0] is None:
                t_start[0] = (time.perf_counter(), len(out), time.process_time())
            await one(session, a.url, body, "%s%d" % (a.id_prefix, n), out)

    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(session) for _ in range(a.concurrency)))
        t1, c1 = time.perf_counter(), time.process_time()
    if t_start[0] is not None and a.warmup:
        t0, _, c0 = t_start[0]
    ids_warm = set("%s%d" % (a.id_prefix, n) for n in range(a.warmup))
    meas = [r for r in out if r[0] not in ids_warm]
    good = [r for r in meas if r[1]]
    ttft = [r[2] * 1e3 for r in good]
    itl = [x * 1e3 for r in good for x in r[3]]
    e2e = [r[4] * 1e3 for r in good]
    res = {
        "client": "python asyncio + aiohttp %s (as vllm bench serve)" % aiohttp.__version__,
        "requests": len(meas), "ok": len(good), "failed": len(meas) - len(good),
        "wall_s": t1 - t0, "req_per_s": len(meas) / (t1 - t0) if t1 > t0 else None,
        "cpu_s": c1 - c0,
        "ttft_p50_ms": pct(ttft, 0.5), "ttft_p99_ms": pct(ttft, 0.99),
        "itl_p50_ms": pct(itl, 0.5), "itl_p99_ms": pct(itl, 0.99),
        "e2e_p50_ms": pct(e2e, 0.5), "e2e_p99_ms": pct(e2e, 0.99),
    }
    if a.records:
        with open(a.records, "w") as f:
            for r in good:
                f.write("%s %d\n" % (r[0], r[5]))
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    try:
        import aiohttp
    except ImportError as e:
        print(json.dumps({"error": "aiohttp is not installed (%s; apt-get install "
                          "python3-aiohttp)" % e}))
        sys.exit(3)
    sys.exit(asyncio.run(main()))
