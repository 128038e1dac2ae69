-- wrk script: cycles through a mix of free-text and filtered searches, prints p50/p95/p99.
-- `wrk ... -s bench/search.lua URL -- facets` asks every search for all six facets too (the
-- search page's cost), `-- bio` runs the EDAM, licence and sort queries with facets.
local queries = {
  "samtools", "bwa", "label.edam.topic:mapping", "namespace:proteomics+aligner", "rna-seq",
  "assembler", "variant+calling", "tag:latest+fastqc", "metagenomics", "phylogenetic+trees",
  -- as typed into the search box: prefixes, the shortest ones expanding to the most words
  "sa", "samt", "genomics-co", "ali+seq",
  -- many words, near the 256-character limit
  string.rep("al+ge+se+", 28),
}
local bio = {
  "",  -- everything: every facet counted over the whole visible catalogue
  "topic:topic_0080", "topic:%22Sequence+analysis%22+aligner", "operation:operation_0292",
  "license:mit", "topic:topic_3170&sort=pulls", "automated:yes&sort=name", "updated:year",
  "rna-seq&sort=updated",
}
local suffix = ""

init = function(args)
  if args[1] == "facets" or args[1] == "bio" then
    suffix = "&facets=namespace,topic,operation,license,automated,updated"
  end
  if args[1] == "bio" then
    queries = bio
  end
end

local i = 0

request = function()
  i = i + 1
  return wrk.format("GET", "/container/search?q=" .. queries[(i % #queries) + 1] .. suffix)
end

done = function(summary, latency, requests)
  io.write(string.format("search: %d requests in %.1fs (%.0f/s), latency p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, errors %d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
