"""Datasets as tidy tables: the simulated plant's, public ICS datasets, and a verified
downloader for the public ones."""

from icslab.data.fetch import BATADAL_SHA256, fetch_batadal, fetch_files, verify_file
from icslab.data.historian import to_wide
from icslab.data.plant import PlantData, batadal_folder, data_root, load_plant
from icslab.data.public import Dataset, load_batadal, load_hai, load_swat

__all__ = [
    "BATADAL_SHA256",
    "Dataset",
    "PlantData",
    "batadal_folder",
    "data_root",
    "fetch_batadal",
    "fetch_files",
    "load_batadal",
    "load_hai",
    "load_plant",
    "load_swat",
    "to_wide",
    "verify_file",
]
