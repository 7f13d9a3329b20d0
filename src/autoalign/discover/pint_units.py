"""The units that sensor tables are read in: pint's registry, plus the astronomers' units it lacks.

Sensor units come in every system (°F, bar, psi, days, inches), and pint knows them all but the
solar ones, which a survey of stars or planets is written in. One registry, made once, serves the
summary variables (which convert readings to SI) and the simulated apparatus (which convert back).
"""

from __future__ import annotations

from functools import cache

#: IAU nominal values (2015 Resolution B3); the solar mass from the nominal GM over G.
_ASTRONOMY = (
    "solar_mass = 1.98841e30 * kilogram = M_sun = Msun",
    "solar_radius = 6.957e8 * meter = R_sun = Rsun",
    "solar_luminosity = 3.828e26 * watt = L_sun = Lsun",
    "earth_mass = 5.9722e24 * kilogram = M_earth",
    "earth_radius = 6.3781e6 * meter = R_earth",
)


@cache
def unit_registry():
    """pint's registry with the solar and terrestrial units defined (imported late: pint takes a
    quarter of a second to load)."""
    import pint

    registry: pint.UnitRegistry = pint.UnitRegistry()
    for definition in _ASTRONOMY:
        registry.define(definition)
    return registry
