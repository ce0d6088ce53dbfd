-- llmbench store schema, version 1 (docs/schema.md). the build compiles this
-- exact text in (scripts/embed.sh) and metrics/store.c runs it in one transaction on a new database;
-- store_open sets the pragmas (journal_mode=WAL, synchronous=NORMAL, foreign_keys=ON,
-- busy_timeout=5000). Times: *_ns CLOCK_MONOTONIC ns; *_at ISO 8601 UTC. Figures carry
-- their unit in the metric name or the unit column; NULL means unavailable, never 0.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1');
CREATE TABLE IF NOT EXISTS runs (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	workload_name TEXT, workload_path TEXT, workload_json TEXT,
	status TEXT NOT NULL CHECK (status IN ('running','done','interrupted','failed')),
	started_at TEXT, ended_at TEXT, host TEXT, version TEXT, machine_json TEXT, note TEXT,
	pid INTEGER  -- the process that ran it, on host (a 'running' run whose pid is gone died)
);
CREATE TABLE IF NOT EXISTS backends (
	id INTEGER PRIMARY KEY,
	run_id INTEGER NOT NULL REFERENCES runs(id),
	name TEXT NOT NULL, type TEXT, model TEXT, family TEXT, quant TEXT, config_json TEXT
);
CREATE INDEX IF NOT EXISTS backends_run ON backends(run_id);
CREATE TABLE IF NOT EXISTS levels (
	id INTEGER PRIMARY KEY,
	run_id INTEGER NOT NULL REFERENCES runs(id),
	backend_id INTEGER NOT NULL REFERENCES backends(id),
	idx INTEGER NOT NULL, rep INTEGER NOT NULL DEFAULT 0,
	mode TEXT, value REAL,
	status TEXT NOT NULL DEFAULT 'running'
		CHECK (status IN ('running','done','interrupted','failed')),
	valid INTEGER NOT NULL DEFAULT 1, invalid_reason TEXT
);
CREATE INDEX IF NOT EXISTS levels_run ON levels(run_id);
CREATE TABLE IF NOT EXISTS requests (
	id INTEGER PRIMARY KEY,
	run_id INTEGER NOT NULL REFERENCES runs(id),
	backend_id INTEGER NOT NULL, level_id INTEGER NOT NULL,
	req_id INTEGER NOT NULL, seq INTEGER, item_idx INTEGER,
	warmup INTEGER NOT NULL CHECK (warmup IN (0,1)),
	status TEXT NOT NULL,   -- 'ok' or a failure category: connect, http_429, ...
	http_status INTEGER, error TEXT, finish_reason TEXT,
	t_scheduled_ns INTEGER, t_send_ns INTEGER, t_first_ns INTEGER, t_end_ns INTEGER,
	ttft_ms REAL, tpot_ms REAL, e2e_ms REAL, lag_ms REAL,
	prompt_tokens INTEGER, prompt_tokens_source TEXT,
	output_tokens INTEGER, output_tokens_source TEXT,
	n_chunks INTEGER, chunk_times BLOB, chunk_tokens BLOB,  -- LEB128, see docs/schema.md
	server_prompt_ms REAL, server_predicted_ms REAL,
	output_text TEXT
);
CREATE INDEX IF NOT EXISTS requests_level ON requests(level_id);
CREATE INDEX IF NOT EXISTS requests_run_req ON requests(run_id, req_id);
CREATE TABLE IF NOT EXISTS summaries (
	id INTEGER PRIMARY KEY,
	run_id INTEGER NOT NULL REFERENCES runs(id),
	backend_id INTEGER NOT NULL DEFAULT 0, level_id INTEGER NOT NULL DEFAULT 0,
	metric TEXT NOT NULL, value REAL, n REAL, unit TEXT, provenance TEXT, note TEXT
);
CREATE INDEX IF NOT EXISTS summaries_run ON summaries(run_id, metric);
CREATE UNIQUE INDEX IF NOT EXISTS summaries_key
	ON summaries(run_id, backend_id, level_id, metric);
CREATE TABLE IF NOT EXISTS series (
	run_id INTEGER NOT NULL REFERENCES runs(id),
	backend_id INTEGER NOT NULL DEFAULT 0, level_id INTEGER NOT NULL DEFAULT 0,
	series TEXT NOT NULL, t_ns INTEGER NOT NULL, value REAL
);
CREATE INDEX IF NOT EXISTS series_run ON series(run_id, series);
-- The eval phase (docs/quality.md): one row per item and evaluator; kind is qa, mc,
-- selfcheck, yesno or sheet; status 'ok' or a failure category; method names the variant.
CREATE TABLE IF NOT EXISTS evals (
	id INTEGER PRIMARY KEY,
	run_id INTEGER NOT NULL, backend_id INTEGER NOT NULL,
	kind TEXT NOT NULL,
	item_idx INTEGER, item_id TEXT, domain TEXT,
	prompt TEXT, answer TEXT, reference TEXT,
	status TEXT, error TEXT,
	grade TEXT, score REAL, detail TEXT,
	latency_ms REAL, output_tokens INTEGER, output_tokens_source TEXT,
	judge_grade TEXT, judge_reply TEXT,
	method TEXT, synthetic INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS evals_run ON evals(run_id, backend_id, kind);
-- the per-item view `llmbench gate` pairs for McNemar's test (docs/ci.md)
CREATE VIEW IF NOT EXISTS eval_items AS SELECT run_id, backend_id, item_id, grade
	FROM evals WHERE kind = 'qa' AND status = 'ok';
-- multiple choice: one row per choice scored; target 'mc1' or 'mc2'
CREATE TABLE IF NOT EXISTS mc_choices (
	id INTEGER PRIMARY KEY,
	run_id INTEGER NOT NULL, backend_id INTEGER NOT NULL,
	item_id TEXT NOT NULL, target TEXT NOT NULL,
	choice_idx INTEGER NOT NULL, choice TEXT, is_true INTEGER NOT NULL,
	logprob_sum REAL, n_tokens INTEGER, n_bytes INTEGER, greedy INTEGER
);
-- the texts a score was computed from beyond evals.answer: role 'context' (the text a
-- multiple-choice continuation was scored after), 'prompt' (the exact prompt sent) or
-- 'sample' (a self-check sample, idx 0.., with its seed); status as in evals
CREATE TABLE IF NOT EXISTS eval_texts (
	id INTEGER PRIMARY KEY,
	run_id INTEGER NOT NULL, backend_id INTEGER NOT NULL,
	kind TEXT NOT NULL, item_id TEXT, role TEXT NOT NULL, idx INTEGER,
	text TEXT, status TEXT, seed INTEGER
);
CREATE INDEX IF NOT EXISTS eval_texts_run ON eval_texts(run_id, backend_id, kind, item_id);
-- Sharded runs (docs/scale-out.md): a shard's store has one row for the shard it ran; a
-- merged run has one row per merged shard (source: the store and run it came from). The clock
-- anchor (CLOCK_REALTIME and CLOCK_MONOTONIC read together) puts a shard's *_ns on the wall
-- clock: wall = t_ns - anchor_monotonic_ns + anchor_realtime_ns.
CREATE TABLE IF NOT EXISTS shards (
	run_id INTEGER NOT NULL REFERENCES runs(id),
	shard INTEGER NOT NULL, n_shards INTEGER NOT NULL,
	shard_group TEXT, split TEXT, engine TEXT, host TEXT, start_at TEXT,
	anchor_realtime_ns INTEGER, anchor_monotonic_ns INTEGER, anchor_read_gap_ns INTEGER,
	clock_synced INTEGER, clock_esterror_us INTEGER, clock_maxerror_us INTEGER,
	source TEXT,
	PRIMARY KEY (run_id, shard)
);
-- A merged run's per-shard figures, beside the figures recomputed from the union of rows;
-- backend_id and level_id are the merged run's.
CREATE TABLE IF NOT EXISTS shard_summaries (
	run_id INTEGER NOT NULL REFERENCES runs(id),
	shard INTEGER NOT NULL,
	backend_id INTEGER NOT NULL DEFAULT 0, level_id INTEGER NOT NULL DEFAULT 0,
	metric TEXT NOT NULL, value REAL, n REAL, unit TEXT, provenance TEXT, note TEXT
);
CREATE INDEX IF NOT EXISTS shard_summaries_run ON shard_summaries(run_id, metric);
-- one row per scrape of a server's Prometheus endpoint during a level (docs/traffic.md): ok 0
-- with the reason when the endpoint could not be read; the samples of an ok scrape are in
-- series, named 'server:' || metric || labels ('server:vllm:num_requests_running{model_name="m"}')
CREATE TABLE IF NOT EXISTS server_scrapes (
	id INTEGER PRIMARY KEY,
	run_id INTEGER NOT NULL, backend_id INTEGER NOT NULL DEFAULT 0,
	level_id INTEGER NOT NULL DEFAULT 0, t_ns INTEGER NOT NULL,
	url TEXT, ok INTEGER NOT NULL, reason TEXT, n_samples INTEGER, duration_ms REAL,
	server TEXT
);
CREATE INDEX IF NOT EXISTS server_scrapes_run ON server_scrapes(run_id, level_id);
-- multi-turn sessions (docs/traffic.md#multi-turn-sessions): the session (1-based within the
-- level), the conversation's id and the turn (1-based) of each request of load modes sessions
-- and session_rate; joins requests on (run_id, req_id)
CREATE TABLE IF NOT EXISTS session_turns (
	run_id INTEGER NOT NULL REFERENCES runs(id),
	level_id INTEGER NOT NULL, req_id INTEGER NOT NULL,
	session INTEGER NOT NULL, conv TEXT, turn INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS session_turns_run ON session_turns(run_id, level_id, req_id);
-- how each session of those modes ended: outcome completed, failed or cut, its answered turns,
-- when the harness started it, sent its first turn and saw it end (its last reply's end; cut:
-- when it was stopped); *_ns on the requests' clock. merge recomputes the sessions' figures
-- from these rows
CREATE TABLE IF NOT EXISTS session_ends (
	run_id INTEGER NOT NULL REFERENCES runs(id), level_id INTEGER NOT NULL,
	session INTEGER NOT NULL, conv TEXT, warmup INTEGER NOT NULL, outcome TEXT NOT NULL,
	turns_ok INTEGER NOT NULL, t_start_ns INTEGER, t_first_send_ns INTEGER, t_end_ns INTEGER
);
CREATE INDEX IF NOT EXISTS session_ends_run ON session_ends(run_id, level_id);
