"""On-demand benchmarks (`make bench`): what a rollback costs, and what our tooling adds on top of the work."""
