"""The web shop (`shop.example.com`): its traffic curve, pages, static assets and visitors' IPs.

`web-store` serves the site to browsers and bots, `web-api` the mobile app's JSON API; both run
behind a load balancer on a few hosts each.
"""

from __future__ import annotations

from . import words

SHOP_ORIGIN = "https://shop.example.com"
STORE_HOSTS = [f"web-store-{n:02d}" for n in range(1, 9)]
API_HOSTS = [f"web-api-{n:02d}" for n in range(1, 7)]

# Relative request volume per UTC hour of day (US-evening heavy) and per day (Monday first).
HOURLY_SHOP = tuple(
    float(weight)
    for weight in words(
        "1.0 0.9 0.75 0.55 0.4 0.3 0.25 0.25 0.3 0.4 0.5 0.6 "
        "0.7 0.8 0.9 0.95 1.0 1.0 1.05 1.1 1.15 1.2 1.2 1.1"
    )
)
DAILY_SHOP = (1.0, 0.97, 1.0, 1.02, 0.96, 1.15, 1.1)

# First octets of the customers' (residential and mobile) IPs.
CUSTOMER_FIRST_OCTETS = tuple(
    int(octet)
    for octet in words(
        "23 24 47 50 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 "
        "87 88 89 90 92 93 94 95 96 97 98 99 104 107 108 142 173 174 184 206 207 208 209"
    )
)

REFERERS = (
    "-",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://www.instagram.com/",
    SHOP_ORIGIN + "/",
)

CATEGORIES = words(
    "jackets boots backpacks tents sleeping-bags gloves hats trail-running climbing kids sale"
)
SEARCH_TERMS = words(
    "rain+jacket hiking+boots down+vest wool+socks headlamp trekking+poles gore-tex kids+boots "
    "water+bottle"
)
STORE_ASSETS = [
    "/static/js/app.3f9a1c2e.js",
    "/static/js/vendor.8b21d4f0.js",
    "/static/css/main.c41e9d2a.css",
    "/static/fonts/inter-var.woff2",
    "/images/logo.svg",
    "/favicon.ico",
    "/images/banners/spring-sale.webp",
]
STALE_LINKS = (
    "/products/0987",
    "/collections/winter-2022",
    "/blog/2021/best-tents",
    "/promo/black-friday",
    "/apple-touch-icon.png",
    "/apple-touch-icon-precomposed.png",
    "/.well-known/assetlinks.json",
)
