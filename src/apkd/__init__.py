"""apkd: certification of Indonesia's regional finance officers (APKD)."""

__version__ = "0.1.0"
