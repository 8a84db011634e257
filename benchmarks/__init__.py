"""ffmotion's benchmarks and measurement scripts, run from the repository root as modules
(``python -m benchmarks.bench --quick``): see ``benchmarks/README.md``. Not part of the
installed package."""
