"""Geography: the GeoIP places and network sites (IP, place, network owner) of the sample week.

Each IP always maps to the same place. `Site.geoip` is the `network.client.geoip` object
Datadog's GeoIP processor adds; `home` gives a residential (or office business) line of the
country's incumbent ISP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Place:
    """A geolocated city, as a GeoIP database would describe it."""

    city: str
    region: str
    region_iso: str
    country: str
    iso: str
    continent: str
    continent_code: str
    lat: float
    lon: float
    postal: str


def _place(
    city: str,
    region: str,
    region_iso: str,
    country: str,
    iso: str,
    continent_code: str,
    lat: float,
    lon: float,
    postal: str,
) -> Place:
    continents = {"NA": "North America", "EU": "Europe", "AS": "Asia"}
    return Place(
        city,
        region,
        region_iso,
        country,
        iso,
        continents[continent_code],
        continent_code,
        lat,
        lon,
        postal,
    )


US, GB, FR, DE, CH = "United States", "United Kingdom", "France", "Germany", "Switzerland"

P_NEW_YORK = _place("New York", "New York", "NY", US, "US", "NA", 40.7128, -74.0060, "10004")
P_BROOKLYN = _place("Brooklyn", "New York", "NY", US, "US", "NA", 40.6782, -73.9442, "11201")
P_JERSEY_CITY = _place(
    "Jersey City", "New Jersey", "NJ", US, "US", "NA", 40.7178, -74.0431, "07302"
)
P_HOBOKEN = _place("Hoboken", "New Jersey", "NJ", US, "US", "NA", 40.7440, -74.0324, "07030")
P_YONKERS = _place("Yonkers", "New York", "NY", US, "US", "NA", 40.9312, -73.8988, "10701")
P_SAN_FRANCISCO = _place(
    "San Francisco", "California", "CA", US, "US", "NA", 37.7749, -122.4194, "94105"
)
P_OAKLAND = _place("Oakland", "California", "CA", US, "US", "NA", 37.8044, -122.2712, "94612")
P_BERKELEY = _place("Berkeley", "California", "CA", US, "US", "NA", 37.8716, -122.2727, "94704")
P_SAN_MATEO = _place("San Mateo", "California", "CA", US, "US", "NA", 37.5630, -122.3255, "94401")
P_AUSTIN = _place("Austin", "Texas", "TX", US, "US", "NA", 30.2672, -97.7431, "78701")
P_ROUND_ROCK = _place("Round Rock", "Texas", "TX", US, "US", "NA", 30.5083, -97.6789, "78664")
P_CHICAGO = _place("Chicago", "Illinois", "IL", US, "US", "NA", 41.8781, -87.6298, "60601")
P_ASHBURN = _place("Ashburn", "Virginia", "VA", US, "US", "NA", 39.0438, -77.4874, "20147")
P_LONDON = _place("London", "England", "ENG", GB, "GB", "EU", 51.5074, -0.1278, "EC2A")
P_CROYDON = _place("Croydon", "England", "ENG", GB, "GB", "EU", 51.3762, -0.0982, "CR0")
P_WATFORD = _place("Watford", "England", "ENG", GB, "GB", "EU", 51.6565, -0.3903, "WD17")
P_MANCHESTER = _place("Manchester", "England", "ENG", GB, "GB", "EU", 53.4808, -2.2426, "M1")
P_PARIS = _place("Paris", "Ile-de-France", "IDF", FR, "FR", "EU", 48.8566, 2.3522, "75002")
P_BOULOGNE = _place(
    "Boulogne-Billancourt", "Ile-de-France", "IDF", FR, "FR", "EU", 48.8397, 2.2399, "92100"
)
P_MONTREUIL = _place("Montreuil", "Ile-de-France", "IDF", FR, "FR", "EU", 48.8638, 2.4485, "93100")
P_VERSAILLES = _place(
    "Versailles", "Ile-de-France", "IDF", FR, "FR", "EU", 48.8049, 2.1204, "78000"
)
P_BERLIN = _place("Berlin", "Land Berlin", "BE", DE, "DE", "EU", 52.5200, 13.4050, "10117")
P_POTSDAM = _place("Potsdam", "Brandenburg", "BB", DE, "DE", "EU", 52.3906, 13.0645, "14467")
P_FRANKFURT = _place("Frankfurt am Main", "Hesse", "HE", DE, "DE", "EU", 50.1109, 8.6821, "60313")
P_GENEVA = _place("Geneva", "Geneva", "GE", CH, "CH", "EU", 46.2044, 6.1432, "1201")
P_ANNEMASSE = _place(
    "Annemasse", "Auvergne-Rhone-Alpes", "ARA", FR, "FR", "EU", 46.1934, 6.2342, "74100"
)
P_SINGAPORE = _place(
    "Singapore", "Singapore", "01", "Singapore", "SG", "AS", 1.3521, 103.8198, "018989"
)
P_BUCHAREST = _place(
    "Bucharest", "Bucuresti", "B", "Romania", "RO", "EU", 44.4268, 26.1025, "030167"
)
P_AMSTERDAM = _place(
    "Amsterdam", "North Holland", "NH", "Netherlands", "NL", "EU", 52.3676, 4.9041, "1012"
)
P_WARSAW = _place("Warsaw", "Mazovia", "14", "Poland", "PL", "EU", 52.2297, 21.0122, "00-001")
P_ST_PETERSBURG = _place(
    "Saint Petersburg", "St.-Petersburg", "SPE", "Russia", "RU", "EU", 59.9311, 30.3609, "190000"
)


@dataclass(frozen=True, slots=True)
class Site:
    """A public IP address with its GeoIP place and network owner."""

    ip: str
    place: Place
    asn: int
    as_org: str
    isp: str
    domain: str
    proxy: bool = False

    def geoip(self) -> dict[str, Any]:
        """The `network.client.geoip` attributes Datadog's GeoIP processor adds for this IP."""
        place = self.place
        return {
            "ipAddress": self.ip,
            "city": {"name": place.city},
            "country": {"name": place.country, "iso_code": place.iso},
            "continent": {"name": place.continent, "code": place.continent_code},
            "subdivision": {"name": place.region, "iso_code": place.region_iso},
            "location": {"latitude": place.lat, "longitude": place.lon},
            "as": {"number": self.asn, "organization": self.as_org},
        }


# Per country: (ASN, AS organisation, ISP, domain, residential /16 prefixes) of the incumbent ISP.
ISP_BY_COUNTRY: dict[str, tuple[int, str, str, str, tuple[str, ...]]] = {
    "US": (
        7922,
        "comcast cable communications, llc",
        "comcast",
        "comcast.net",
        ("73.162", "98.116", "24.91", "71.245", "68.173", "76.102"),
    ),
    "GB": (2856, "british telecommunications plc", "bt", "bt.com", ("86.151", "81.154", "109.150")),
    "FR": (3215, "orange s.a.", "orange", "orange.fr", ("90.63", "86.246", "83.202")),
    "DE": (
        3320,
        "deutsche telekom ag",
        "deutsche telekom ag",
        "telekom.de",
        ("79.206", "91.64", "87.178"),
    ),
    "CH": (3303, "swisscom (schweiz) ag", "swisscom", "swisscom.ch", ("85.1", "178.197")),
}


def home(ip: str, place: Place, *, business: bool = False) -> Site:
    """A line of the incumbent ISP of `place`'s country (a business line for office NATs)."""
    asn, org, isp, domain, _ = ISP_BY_COUNTRY[place.iso]
    return Site(ip, place, asn, org, isp + " business" if business else isp, domain)
