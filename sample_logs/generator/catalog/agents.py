"""User agents: the browsers, phones, apps and bots of the sample week, and the AWS SDK/CLI agents.

`Agent` carries the parsed details Datadog's user-agent parser adds (`http.useragent_details`).
The `UA_*` strings are CloudTrail `userAgent` values; those with `{command}` or `{api}` are
formatted per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Agent:
    """A user agent string with the parsed details Datadog's user-agent parser adds."""

    raw: str
    os: str
    browser: str
    device: str = "Other"

    def details(self) -> dict[str, Any]:
        """The `http.useragent_details` attributes of this agent."""
        return {
            "os": {"family": self.os},
            "browser": {"family": self.browser},
            "device": {"family": self.device, "category": self.device_category()},
        }

    def device_category(self) -> str:
        """`Bot`, `Mobile` or `Desktop`."""
        if self.device == "Spider":
            return "Bot"
        if self.os in ("iOS", "Android"):
            return "Mobile"
        return "Desktop"


BROWSERS: tuple[Agent, ...] = (
    Agent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36",
        "Mac OS X",
        "Chrome",
    ),
    Agent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/121.0.0.0 Safari/537.36",
        "Mac OS X",
        "Chrome",
    ),
    Agent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.3.1 Safari/605.1.15",
        "Mac OS X",
        "Safari",
    ),
    Agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36",
        "Windows",
        "Chrome",
    ),
    Agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0",
        "Windows",
        "Edge",
    ),
    Agent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.3; rv:123.0) Gecko/20100101 Firefox/123.0",
        "Mac OS X",
        "Firefox",
    ),
    Agent(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36",
        "Linux",
        "Chrome",
    ),
)
PHONES: tuple[Agent, ...] = (
    Agent(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
        "iOS",
        "Mobile Safari",
        "iPhone",
    ),
    Agent(
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.6261.64 Mobile Safari/537.36",
        "Android",
        "Chrome Mobile",
        "Pixel 8",
    ),
    Agent(
        "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/121.0.6167.178 Mobile Safari/537.36",
        "Android",
        "Chrome Mobile",
        "Samsung SM-S911B",
    ),
)
APP_AGENTS: tuple[Agent, ...] = (
    Agent("ShopApp/5.12.1 (iPhone; iOS 17.3.1; Scale/3.00)", "iOS", "ShopApp", "iPhone"),
    Agent("ShopApp/5.12.0 (iPhone; iOS 17.2.1; Scale/3.00)", "iOS", "ShopApp", "iPhone"),
    Agent("ShopApp/5.12.1 (Android 14; Pixel 7)", "Android", "ShopApp", "Pixel 7"),
    Agent("okhttp/4.12.0", "Android", "okhttp", "Other"),
)
BOTS: tuple[Agent, ...] = (
    Agent(
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Other",
        "Googlebot",
        "Spider",
    ),
    Agent(
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Other",
        "bingbot",
        "Spider",
    ),
    Agent(
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Other",
        "AhrefsBot",
        "Spider",
    ),
)
A_GOOGLEBOT = BOTS[0]
A_PYTHON_REQUESTS = Agent("python-requests/2.31.0", "Other", "Python Requests")
A_SPRAY_BROWSER = Agent(
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/109.0.0.0 Safari/537.36",
    "Windows",
    "Chrome",
)
A_NUCLEI = Agent(
    "Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))",
    "Other",
    "Other",
    "Spider",
)

# AWS SDK / CLI user agents, as they appear in CloudTrail `userAgent`.
UA_CLI_MAC = "aws-cli/2.15.24 Python/3.11.8 Darwin/23.3.0 exe/x86_64 prompt/off command/{command}"
UA_CLI_CI = (
    "aws-cli/2.15.24 Python/3.11.8 Linux/6.5.0-1016-azure exe/x86_64.ubuntu.22 prompt/off "
    "command/{command}"
)
UA_CLI_KALI = (
    "aws-cli/2.15.19 Python/3.11.6 Linux/6.5.0-kali3-amd64 exe/x86_64.kali.2023 prompt/off "
    "command/{command}"
)
UA_BOTO3 = (
    "Boto3/1.34.49 md/Botocore#1.34.49 ua/2.0 os/linux#5.10.210-201.852.amzn2.x86_64 "
    "md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.49"
)
UA_GO_SDK = "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.21.7 md/GOOS#linux md/GOARCH#amd64 api/{api}"
UA_DD_AGENT = "aws-sdk-go/1.50.21 (go1.21.7; linux; amd64) datadog-agent/7.51.0"
UA_DD_CRAWLER = "aws-sdk-go/1.44.331 (go1.20.12; linux; amd64) DatadogAWSIntegration/1.0"
UA_JAVA = (
    "aws-sdk-java/2.25.6 Linux/5.10.210-201.852.amzn2.x86_64 "
    "OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS "
    "Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy"
)
UA_TERRAFORM = (
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) "
    "terraform-provider-aws/5.39.1 (+https://registry.terraform.io/providers/hashicorp/aws) "
    "aws-sdk-go/1.50.29 (go1.21.7; linux; amd64)"
)
UA_CONSOLE = "AWS Internal"
