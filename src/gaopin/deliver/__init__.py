"""Delivery: the report and the warnings sent by email and to the leaders' group robot, exactly once.

Layer above `reports`, below `cli`: the only package that talks to the network (smtplib,
urllib, http). Modules:

- `sends`   the exactly-once record of what was sent (the store's `sends` table);
- `lock`    one delivery run at a time (filelock, on Windows too);
- `content` what the messages say (titles, lines, markdown), masked;
- `mail`    MIME messages and SMTP;
- `webhook` WeCom / DingTalk robot payloads and posting;
- `run`     the runs the CLI calls: `report_and_deliver`, `warn_and_deliver`;
- `doctor`  checks of the configuration, the store, the font, SMTP and the webhook.
"""
