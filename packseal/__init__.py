"""packseal's face: the CLI, config loading, the web faces (station screen, portal), the
hub and the witness. Nothing imports this package; it composes the others.

Errors (one tree, rooted at :class:`storage.PacksealError`, with the storage, recorder and
verifier trees in their packages' docstrings)::

    PacksealError (storage)
    ├── ConfigError           config.yaml (or a setting) is missing or invalid (config.py)
    ├── PortInUse             the web server's port is taken (web/server.py)
    ├── AccountError          a user, password, session or token operation (accounts.py)
    ├── ShareError            a share link that cannot be made as asked (web/shares.py)
    ├── WebError              an HTTP answer: status, message, hint (web/_http.py)
    │   └── Redirect          a 303 See Other raised from inside a handler
    ├── HubError              the hub refused or failed a push (hub/pusher.py)
    ├── HubConfigError        the hub's settings are incomplete (hub/app.py)
    ├── HubC2paMissing        a C2PA station's clip, and the hub has no C2PA certificate
    │                         to sign it (hub/exports.py)
    ├── _TooLarge             a hub request body over its limit: 413 (hub/api.py)
    ├── _Denied               a hub page or API request refused: 401/403/404/409/422
    │                         (hub/web.py)
    └── KeyFileError (storage)
        └── WitnessError      a witness's key or state file (witness.py)
"""
