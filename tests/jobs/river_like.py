"""A River-shaped SQL queue (river_queue.paused_at, river_job.state) and a worker that claims jobs as River's
producer does: available jobs of unpaused queues, FOR UPDATE SKIP LOCKED, held, then completed."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psycopg

SCHEMA = """
CREATE TYPE river_job_state AS ENUM ('available', 'cancelled', 'completed', 'discarded', 'pending', 'retryable',
  'running', 'scheduled');
CREATE TABLE river_queue (name text PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(),
  metadata jsonb NOT NULL DEFAULT '{}', paused_at timestamptz, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE river_job (id bigserial PRIMARY KEY, state river_job_state NOT NULL DEFAULT 'available',
  attempt smallint NOT NULL DEFAULT 0, max_attempts smallint NOT NULL DEFAULT 25, attempted_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(), finalized_at timestamptz,
  scheduled_at timestamptz NOT NULL DEFAULT now(), priority smallint NOT NULL DEFAULT 1,
  args jsonb NOT NULL DEFAULT '{}', kind text NOT NULL, queue text NOT NULL DEFAULT 'default');
INSERT INTO river_queue (name) VALUES ('default'), ('mailers');
"""
CLAIM = """
UPDATE river_job SET state = 'running', attempt = attempt + 1, attempted_at = now()
WHERE id = (SELECT j.id FROM river_job j JOIN river_queue q ON q.name = j.queue
            WHERE j.state = 'available' AND j.scheduled_at <= now() AND q.paused_at IS NULL
            ORDER BY j.priority, j.scheduled_at, j.id LIMIT 1 FOR UPDATE OF j SKIP LOCKED)
RETURNING id
"""


@dataclass
class RiverLikeWorker:
    """Polls every 50 ms; records (job id, claimed at) of every job it took."""

    dsn: str
    hold: float = 1.0
    taken: list[tuple[int, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set():
                row = conn.execute(CLAIM).fetchone()
                if row is None:
                    time.sleep(0.05)
                    continue
                self.taken.append((int(row[0]), time.time()))
                time.sleep(self.hold)
                conn.execute("UPDATE river_job SET state = 'completed', finalized_at = now() WHERE id = %s", row)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        return thread
