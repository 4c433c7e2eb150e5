"""Drive python-cas (an independent CAS client) for the CAS bridge tests (tests/cas_bridge.rs).

    cas_client.py login-url --server URL --service URL [--renew]
        prints the login URL the client sends browsers to
    cas_client.py verify --protocol {1,2,3,saml} --server URL --service URL --ticket ST-…
        validates the ticket the way the client does and prints one JSON object:
        {"user": <principal or null>, "attributes": {...}}

The server URL ends with "/" (python-cas joins endpoint names to it).
"""
import argparse
import json
import sys

import cas

CLIENTS = {
    "1": cas.CASClientV1,
    "2": cas.CASClientV2,
    "3": cas.CASClientV3,
    "saml": cas.CASClientWithSAMLV1,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["login-url", "verify"])
    parser.add_argument("--protocol", choices=sorted(CLIENTS), default="3")
    parser.add_argument("--server", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--ticket")
    parser.add_argument("--renew", action="store_true")
    args = parser.parse_args()
    client = CLIENTS[args.protocol](
        service_url=args.service, server_url=args.server, renew=args.renew
    )
    if args.command == "login-url":
        print(client.get_login_url())
        return 0
    if not args.ticket:
        parser.error("verify needs --ticket")
    user, attributes, _ = client.verify_ticket(args.ticket)
    print(json.dumps({"user": user, "attributes": attributes or {}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
