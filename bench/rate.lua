-- wrk script: prints requests per second and latency percentiles on one line.
done = function(summary, latency, requests)
  io.write(string.format("%.0f requests/s, latency p50 %.2f ms, p95 %.2f ms, non-2xx/errors %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
