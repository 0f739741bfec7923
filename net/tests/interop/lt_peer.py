#!/usr/bin/python3
"""A libtorrent peer for swarm's interop tests and bench.

  lt_peer.py download TORRENT SAVE_DIR HOST:PORT   download from one peer, exit 0 when done
  lt_peer.py seed TORRENT SAVE_DIR                 seed; prints "port N" then runs until killed

TCP only (no uTP), no DHT/LSD/UPnP/NAT-PMP, listening on 127.0.0.1.
"""
import sys
import time

import libtorrent as lt


def session():
    settings = {
        "listen_interfaces": "127.0.0.1:0",
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.status_notification,
        "allow_multiple_connections_per_ip": True,
    }
    return lt.session(settings)


def add(ses, torrent, save_dir, seed_mode=False):
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent)
    params.save_path = save_dir
    if seed_mode:
        params.flags |= lt.torrent_flags.seed_mode
    return ses.add_torrent(params)


def main():
    mode, torrent, save_dir = sys.argv[1:4]
    ses = session()
    if mode == "download":
        host, port = sys.argv[4].rsplit(":", 1)
        handle = add(ses, torrent, save_dir)
        handle.connect_peer((host, int(port)))
        start = time.time()
        deadline = start + float(sys.argv[5]) if len(sys.argv) > 5 else start + 600
        while time.time() < deadline:
            status = handle.status()
            if status.is_seeding or status.state == lt.torrent_status.seeding:
                print("done %.3f" % (time.time() - start), flush=True)
                return 0
            if status.num_peers == 0 and time.time() - start > 2:
                handle.connect_peer((host, int(port)))
            time.sleep(0.05)
        print("timeout progress=%.3f" % handle.status().progress, flush=True)
        return 1
    if mode == "seed":
        handle = add(ses, torrent, save_dir, seed_mode=False)
        while not handle.status().is_seeding:
            if handle.status().state == lt.torrent_status.checking_files:
                time.sleep(0.05)
                continue
            time.sleep(0.05)
        print("port %d" % ses.listen_port(), flush=True)
        while True:
            time.sleep(1)
    return 2


if __name__ == "__main__":
    sys.exit(main())
