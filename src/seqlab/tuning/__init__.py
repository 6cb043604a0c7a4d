"""Search that treats a seed as a draw: races that give seeds to the settings still in
doubt (race.py). Torch-free: the sweepers and the report import it."""
