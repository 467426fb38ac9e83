# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ticketctl_global_optspecs
    string join \n database-url= log-format= h/help V/version
end

function __fish_ticketctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ticketctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ticketctl_using_subcommand
    set -l cmd (__fish_ticketctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ticketctl -n "__fish_ticketctl_needs_command" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_needs_command" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_needs_command" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -s V -l version -d 'Print version'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "serve" -d 'Run the booking server (HTTP API)'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "migrate" -d 'Create or update the database schema'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "seed" -d 'Load the Bangladesh Railway network and create trips for the coming days'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "station" -d 'List or add stations'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "train" -d 'List or show trains'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "trip" -d 'List, search or schedule trips'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "user" -d 'Manage users and roles'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "ticket" -d 'Verify tickets (signature and status) or print the public key'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "audit" -d 'Check the tamper-evident audit log'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "export" -d 'Export orders for the accounts office, as CSV or JSON Lines'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "events" -d 'Watch the events `serve --nats-url` publishes to NATS JetStream'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "rehearse" -d 'Rehearse a peak sale against a real server and check the invariants afterwards'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "tui" -d 'The counter clerks\' terminal: seat map and cash sales through a running server'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "nid" -d 'List or clear NIDs flagged for abuse'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "risk" -d 'List fraud-velocity decisions or clear a block'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "region" -d 'Regions: home trips among them, take over a lost region\'s trips, status'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "mock-nid" -d 'Run the mock NID registry (the verification service registration asks)'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "completions" -d 'Write shell completion scripts'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "mock-sms" -d 'Run the mock SMS gateway (a Bangladeshi bulk-SMS API) for development and tests'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "mock-gateway" -d 'The mock card gateway, a process of its own: tokenizes cards, charges tokens'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "simulate" -d 'Check the two-region protocol on thousands of seeded schedules of faults'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "mock-wallet" -d 'The mock mobile-wallet provider (bKash-like), a process of its own: payment pages, signed callbacks, status queries, refunds'
complete -c ticketctl -n "__fish_ticketctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l listen -d 'Address to listen on' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l demo-days -d 'With --demo: days of trips to create' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l jwt-secret -d 'Secret for signing access tokens (at least 32 characters). By default one is generated and kept in the database, so all servers on one database agree' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l hold-ttl-secs -d 'How long held seats stay held without an order, in seconds' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l gateway-url -d 'The card gateway (e.g. `ticketctl mock-gateway` at http://127.0.0.1:8090): clients tokenize cards there, this server charges the tokens. Without it the mock gateway runs inside this process, on a loopback port of its own' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l gateway-secret-key -d 'The gateway\'s secret key, for charges, refunds and token checks' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l gateway-publishable-key -d 'The gateway\'s publishable key, handed to clients to tokenize cards with' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l gateway-ledger -d 'Without --gateway-url: the embedded mock gateway\'s ledger file (default: `<database file>-gateway.sqlite` beside a SQLite database, else in memory)' -r -F
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l gateway-latency-ms -d 'Without --gateway-url: simulated latency of the embedded mock gateway, in milliseconds' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l wallet-url -d 'The mobile-wallet provider (e.g. `ticketctl mock-wallet` at http://127.0.0.1:8095). Without it the mock provider runs inside this process, on a loopback port of its own' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l wallet-merchant-key -d 'The merchant key the wallet provider knows us by and signs callbacks with' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l wallet-ledger -d 'Without --wallet-url: the embedded mock provider\'s ledger file (default: `<database file>-wallet.sqlite` beside a SQLite database, else in memory)' -r -F
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l wallet-payment-timeout-secs -d 'How long an order awaits its wallet payment before the provider is asked and an unpaid order fails; must be shorter than --hold-ttl-secs (default: 300, or half the hold TTL when that is shorter)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l public-url -d 'This server\'s base URL as outside services reach it (the wallet provider posts callbacks to `<URL>/v1/payments/wallet/callback`); default: the address it listens on' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l charge-timeout-ms -d 'How long to wait for a charge before treating it as unknown, in milliseconds' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l recovery-after-secs -d 'Settle orders left mid-saga (by a crash) after this many seconds' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l notifications-dir -d 'Directory where e-mail and SMS notifications are written (default: log only)' -r -F
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l smtp-url -d 'SMTP relay for passenger e-mail: smtp://host:port, smtp://user:pass@host:587?tls=required or smtps://host (default: no e-mail is sent)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l nid-registry-url -d 'The NID registry registration verifies NIDs at (e.g. http://127.0.0.1:7070, a `ticketctl mock-nid`). Without it the mock registry runs in this process, on a loopback port of its own' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l nid-registry-key -d 'The registry\'s API key (sent as X-Api-Key)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l seats-per-nid-per-day -d 'Seats one NID may hold or own on all trains of one travel day, online and at counters together (0: no day cap). The cap per trip is 4' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l nid-flag-after -d 'Sales refused by an NID\'s seat caps before the NID is flagged for an admin to review (it cannot buy until cleared)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l personal-data-retention-days -d 'Anonymise personal data older than this many days (passengers and counter buyers of trips that left before then, delivered SMS bodies, passenger accounts with no sign-in or trip since), checked hourly. Without it personal data is kept until erased' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l redis-url -d 'Redis shared by several `serve` processes (e.g. redis://127.0.0.1:6379/): the waiting room and rate limits are kept there. Without it they live in this process\'s memory, so only one process may serve a queued sale' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l redis-prefix -d 'Prefix of every Redis key, so several deployments can share one Redis' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l nats-url -d 'NATS server for the event relay (e.g. nats://127.0.0.1:4222): every outbox event is published to a JetStream stream. Without it no relay runs and events stay in the database' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l nats-stream -d 'The JetStream stream events are published to (created if missing)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l nats-subject-prefix -d 'First part of every event subject: events go to `<prefix>.<kind>`' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l outbox-lease-secs -d 'Outbox events a process claims stay its own this many seconds; events of a process killed mid-batch are taken over by another after it' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l sms-url -d 'SMS gateway for traveller SMS, a Bangladeshi bulk-SMS API (e.g. https://bulksmsbd.net, or `ticketctl mock-sms`). Without it a mock gateway runs inside this process on a loopback port of its own' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l sms-api-key -d 'API key of the SMS gateway account' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l sms-sender-id -d 'Sender id (masking) travellers see on SMS' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l mail-from -d 'Sender address of passenger e-mail' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l ticket-key -d 'Ed25519 seed (64 hex digits) for signing tickets; by default one is generated and kept in the database' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l rate-per-ip -d 'Requests per second per client address, bursts of twice that (0: no limit)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l rate-per-user -d 'Requests per second per signed-in user, bursts of twice that (0: no limit)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l trusted-proxy -d 'A proxy (load balancer) whose X-Forwarded-For / Forwarded header names the client: a CIDR or an address, repeatable (or comma-separated in the environment). Per-address limits then count that client, not the proxy' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l max-in-flight -d 'Requests handled at once; beyond this the server answers 503 at once' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l sale-days-ahead -d 'Days before the service date that a trip\'s sale opens' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l sale-open-hour -d 'Hour of the day (Dhaka time) at which the sale opens' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l region -d 'This server\'s region, when the deployment spans several: writes for trips homed elsewhere are forwarded there, and writes here are fenced by the region\'s epochs at the witness. Needs --witness-url' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l peer -d 'Another region\'s servers: NAME=URL (e.g. B=http://10.1.0.5:8080), repeatable' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l witness-url -d 'The witness\'s Redis (a third site), holding region leases and epochs' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l witness-prefix -d 'Prefix of the witness\'s keys' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l lease-ttl-ms -d 'Life of a region\'s lease at the witness, in milliseconds; renewed every fifth of it' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l skew-margin-ms -d 'Writes stop this long before the lease could expire at the witness (the clock-skew margin), in milliseconds' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l refund-tiers -d 'Cancellation deductions: hours before departure and percent kept, most hours first' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l refund-flat -d 'Taka kept per ticket on every cancellation, on top of the percentage' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l max-holds-per-account -d 'Unexpired seat holds one account may have at once (0: no cap)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l max-holds-per-address -d 'Unexpired seat holds one client address may have at once (0: no cap). Behind a proxy every client shares its address: raise it or set 0' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l risk-rule -d 'A fraud-velocity rule\'s setting, repeatable: NAME=LIMIT/WINDOW:OUTCOME (e.g. holds_per_account=20/1m:step-up; windows in s, m, h, d; outcomes allow, step-up, block) or NAME=off. See the README for the rules and their defaults' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l read-timeout-ms -d 'Deadline for read requests, in milliseconds' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l max-password-hashes -d 'Password hashes (argon2id, ~19 MiB each) computed at once, by logins and registrations together [default: the number of cores]' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l password-hash-wait-ms -d 'How long a login or registration waits for a hashing turn before it is answered 503 with Retry-After, in milliseconds' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l header-read-timeout-secs -d 'A client must send a request\'s headers within this many seconds (also the longest a keep-alive connection waits for its next request)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l idle-timeout-secs -d 'A connection with no traffic for this many seconds is closed' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l max-connections-per-ip -d 'Connections one client address may hold open' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l max-streams -d 'Live seat-map streams open at once, in all' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l max-streams-per-ip -d 'Live streams one client address may hold (signed-in staff are exempt)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l public-streams-percent -d 'Percent of --max-streams open to anonymous clients and passengers; the rest is kept for clerks and admins' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l metrics-refresh-secs -d 'How often the /metrics gauges that need a query (outbox backlog, free seats of the hottest trips, waiting rooms, pool) are refreshed, in seconds' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l invariant-check-secs -d 'How often the invariants (no seat-segment sold twice, tickets, money) are checked for /metrics, in seconds (0: never). Each check reads every live seat claim' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l demo -d 'Demo mode: seed the network and trips if the database is empty, and create demo users'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -l no-seat-feed -d 'Do not LISTEN for other processes\' seat changes (Postgres); see them by polling instead. For a connection pooler in transaction mode, which cannot LISTEN'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand serve" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand migrate" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand migrate" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand migrate" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand seed" -l days -d 'Create trips for today and this many following days' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand seed" -l sale-days-ahead -d 'Days before the service date that a trip\'s sale opens' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand seed" -l sale-open-hour -d 'Hour of the day (Dhaka time) at which the sale opens' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand seed" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand seed" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand seed" -l json -d 'Print the report as JSON'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand seed" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and not __fish_seen_subcommand_from list show add help" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and not __fish_seen_subcommand_from list show add help" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and not __fish_seen_subcommand_from list show add help" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and not __fish_seen_subcommand_from list show add help" -f -a "list" -d 'List all stations'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and not __fish_seen_subcommand_from list show add help" -f -a "show" -d 'Find one station by code or name (English or Bangla)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and not __fish_seen_subcommand_from list show add help" -f -a "add" -d 'Add a station, or update its names'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and not __fish_seen_subcommand_from list show add help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from list" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from list" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from list" -l json
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from show" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from show" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from show" -l json
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from add" -l code -d 'Short code, 2–5 letters (e.g. DHK)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from add" -l name -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from add" -l name-bn -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from add" -l alias -d 'Another name people type (repeatable)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from add" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from add" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from help" -f -a "list" -d 'List all stations'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from help" -f -a "show" -d 'Find one station by code or name (English or Bangla)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a station, or update its names'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand station; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand train; and not __fish_seen_subcommand_from list show help" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand train; and not __fish_seen_subcommand_from list show help" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand train; and not __fish_seen_subcommand_from list show help" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand train; and not __fish_seen_subcommand_from list show help" -f -a "list" -d 'List all trains'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand train; and not __fish_seen_subcommand_from list show help" -f -a "show" -d 'Show one train\'s timetable and coaches'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand train; and not __fish_seen_subcommand_from list show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand train; and __fish_seen_subcommand_from list" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand train; and __fish_seen_subcommand_from list" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand train; and __fish_seen_subcommand_from list" -l json
complete -c ticketctl -n "__fish_ticketctl_using_subcommand train; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand train; and __fish_seen_subcommand_from show" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand train; and __fish_seen_subcommand_from show" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand train; and __fish_seen_subcommand_from show" -l json
complete -c ticketctl -n "__fish_ticketctl_using_subcommand train; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand train; and __fish_seen_subcommand_from help" -f -a "list" -d 'List all trains'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand train; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one train\'s timetable and coaches'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand train; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and not __fish_seen_subcommand_from list search add cancel delay sale-window coach help" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and not __fish_seen_subcommand_from list search add cancel delay sale-window coach help" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and not __fish_seen_subcommand_from list search add cancel delay sale-window coach help" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and not __fish_seen_subcommand_from list search add cancel delay sale-window coach help" -f -a "list" -d 'List trips from a date (default today) for some days'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and not __fish_seen_subcommand_from list search add cancel delay sale-window coach help" -f -a "search" -d 'Search trips between two stations, with filters, fares, free seats and facet counts'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and not __fish_seen_subcommand_from list search add cancel delay sale-window coach help" -f -a "add" -d 'Schedule a trip of a train on a date (creates its seat inventory)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and not __fish_seen_subcommand_from list search add cancel delay sale-window coach help" -f -a "cancel" -d 'Cancel a trip: every confirmed order refunded in full through its payment method, holds released, passengers told. Run it again to finish a cancellation that was interrupted; nothing is refunded twice'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and not __fish_seen_subcommand_from list search add cancel delay sale-window coach help" -f -a "delay" -d 'Delay a trip: passengers are told and may cancel with a full refund'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and not __fish_seen_subcommand_from list search add cancel delay sale-window coach help" -f -a "sale-window" -d 'Open, close or move the sale window of a trip, or of every trip in a range of dates (an Eid wave)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and not __fish_seen_subcommand_from list search add cancel delay sale-window coach help" -f -a "coach" -d 'Add a coach to one trip, or take a coach out of sale (or back)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and not __fish_seen_subcommand_from list search add cancel delay sale-window coach help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from list" -l date -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from list" -l days -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from list" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from list" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from list" -l json
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l from -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l to -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l date -d 'Travel date, YYYY-MM-DD (default today)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l days -d 'Also search this many days before and after the date (0 to 7)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l class -d 'Only these seat classes (repeat for several), e.g. S_CHAIR' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l train -d 'Only these trains (repeat for several), e.g. 701' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l depart-after -d 'Departing at or after HH:MM (Asia/Dhaka)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l depart-before -d 'Departing before HH:MM (24:00 for the end of the day)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l arrive-after -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l arrive-before -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l fare-min -d 'Lowest fare with VAT, in taka' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l fare-max -d 'Highest fare with VAT, in taka' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l min-free -d 'At least this many free seats in a class' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l sort -d 'departure (default), duration, fare or seats_free' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l order -d 'asc or desc (default: desc for seats_free, else asc)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -l json
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from search" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from add" -l train -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from add" -l date -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from add" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from add" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from cancel" -l trip -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from cancel" -l reason -d 'Why the train does not run (told to passengers, kept in the audit log)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from cancel" -l pace-ms -d 'Pause after each refund, in milliseconds, to spare the payment providers' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from cancel" -l gateway-url -d 'The card gateway the server charges through (as `serve --gateway-url`)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from cancel" -l gateway-secret-key -d 'The gateway\'s secret key, for refunds' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from cancel" -l gateway-ledger -d 'Without --gateway-url: the embedded mock gateway\'s ledger (default: `<database file>-gateway.sqlite`, as `serve` keeps it)' -r -F
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from cancel" -l wallet-url -d 'The mobile-wallet provider the server takes payments through' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from cancel" -l wallet-merchant-key -d 'The merchant key the wallet provider knows us by' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from cancel" -l wallet-ledger -d 'Without --wallet-url: the embedded mock provider\'s ledger (default: `<database file>-wallet.sqlite`)' -r -F
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from cancel" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from cancel" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from cancel" -l json
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from cancel" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from delay" -l trip -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from delay" -l minutes -d 'How late the train runs, in minutes (1 to 1440)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from delay" -l reason -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from delay" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from delay" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from delay" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from sale-window" -l trip -d 'The trip (or give --from and --to)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from sale-window" -l from -d 'First service date of the range, YYYY-MM-DD' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from sale-window" -l to -d 'Last service date of the range, YYYY-MM-DD (at most 62 days after --from)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from sale-window" -l opens-at -d 'Move the opening to this instant (RFC 3339, e.g. 2026-03-20T08:00:00+06:00)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from sale-window" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from sale-window" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from sale-window" -l open -d 'Open the sale now (lifting a closure)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from sale-window" -l close -d 'Close the sale: no new holds or orders until it is opened again'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from sale-window" -l json
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from sale-window" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from coach" -l trip -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from coach" -l add -d 'Add a coach with this code (with --class and --seats)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from coach" -l class -d 'The added coach\'s seat class (one the train carries), e.g. S_CHAIR' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from coach" -l seats -d 'The added coach\'s number of seats' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from coach" -l off-sale -d 'Take this coach out of sale: no new holds on it, sold seats untouched' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from coach" -l on-sale -d 'Put this coach back on sale' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from coach" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from coach" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from coach" -l json
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from coach" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from help" -f -a "list" -d 'List trips from a date (default today) for some days'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from help" -f -a "search" -d 'Search trips between two stations, with filters, fares, free seats and facet counts'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from help" -f -a "add" -d 'Schedule a trip of a train on a date (creates its seat inventory)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from help" -f -a "cancel" -d 'Cancel a trip: every confirmed order refunded in full through its payment method, holds released, passengers told. Run it again to finish a cancellation that was interrupted; nothing is refunded twice'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from help" -f -a "delay" -d 'Delay a trip: passengers are told and may cancel with a full refund'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from help" -f -a "sale-window" -d 'Open, close or move the sale window of a trip, or of every trip in a range of dates (an Eid wave)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from help" -f -a "coach" -d 'Add a coach to one trip, or take a coach out of sale (or back)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand trip; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and not __fish_seen_subcommand_from add list set-role export erase purge help" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and not __fish_seen_subcommand_from add list set-role export erase purge help" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and not __fish_seen_subcommand_from add list set-role export erase purge help" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and not __fish_seen_subcommand_from add list set-role export erase purge help" -f -a "add" -d 'Create a user (passenger, clerk or admin)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and not __fish_seen_subcommand_from add list set-role export erase purge help" -f -a "list" -d 'List users'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and not __fish_seen_subcommand_from add list set-role export erase purge help" -f -a "set-role" -d 'Change a user\'s role'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and not __fish_seen_subcommand_from add list set-role export erase purge help" -f -a "export" -d 'Print everything stored about a user as one JSON document'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and not __fish_seen_subcommand_from add list set-role export erase purge help" -f -a "erase" -d 'Erase a user\'s personal data (names, phone, e-mail, NID, passengers, SMS); orders, tickets and ledgers stay, anonymous. Refused while the user has upcoming trips'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and not __fish_seen_subcommand_from add list set-role export erase purge help" -f -a "purge" -d 'Anonymise personal data older than N days: passengers and counter buyers of trips that left before then, delivered SMS bodies, and passenger accounts with no sign-in or trip since (as `serve --personal-data-retention-days` does hourly)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and not __fish_seen_subcommand_from add list set-role export erase purge help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from add" -l name -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from add" -l phone -d 'Bangladeshi mobile number, e.g. 01712345678' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from add" -l email -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from add" -l role -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from add" -l password -d 'The password; prefer --password-stdin or TICKETCTL_PASSWORD so it stays out of shell history' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from add" -l nid -d 'The national ID (10, 13 or 17 digits), verified at the NID registry; a passenger needs one to buy online. Staff may go without' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from add" -l date-of-birth -d 'Date of birth (YYYY-MM-DD) as the NID registry records it' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from add" -l nid-registry-url -d 'The NID registry (default: the mock, run in this process)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from add" -l nid-registry-key -d 'The registry\'s API key' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from add" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from add" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from add" -l password-stdin -d 'Read the password from the first line of standard input'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from list" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from list" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from list" -l json
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from set-role" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from set-role" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from set-role" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from export" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from export" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from erase" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from erase" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from erase" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from purge" -l older-than-days -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from purge" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from purge" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from purge" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "add" -d 'Create a user (passenger, clerk or admin)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "list" -d 'List users'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "set-role" -d 'Change a user\'s role'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "export" -d 'Print everything stored about a user as one JSON document'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "erase" -d 'Erase a user\'s personal data (names, phone, e-mail, NID, passengers, SMS); orders, tickets and ledgers stay, anonymous. Refused while the user has upcoming trips'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "purge" -d 'Anonymise personal data older than N days: passengers and counter buyers of trips that left before then, delivered SMS bodies, and passenger accounts with no sign-in or trip since (as `serve --personal-data-retention-days` does hourly)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand user; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand ticket; and not __fish_seen_subcommand_from verify public-key help" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand ticket; and not __fish_seen_subcommand_from verify public-key help" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand ticket; and not __fish_seen_subcommand_from verify public-key help" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand ticket; and not __fish_seen_subcommand_from verify public-key help" -f -a "verify" -d 'Verify a ticket from its QR payload or a PNG of its QR code'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand ticket; and not __fish_seen_subcommand_from verify public-key help" -f -a "public-key" -d 'Print the public key inspectors use to check tickets offline'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand ticket; and not __fish_seen_subcommand_from verify public-key help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand ticket; and __fish_seen_subcommand_from verify" -l public-key -d 'Check offline with this public key (hex) instead of the database\'s key and records' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand ticket; and __fish_seen_subcommand_from verify" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand ticket; and __fish_seen_subcommand_from verify" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand ticket; and __fish_seen_subcommand_from verify" -l json
complete -c ticketctl -n "__fish_ticketctl_using_subcommand ticket; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand ticket; and __fish_seen_subcommand_from public-key" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand ticket; and __fish_seen_subcommand_from public-key" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand ticket; and __fish_seen_subcommand_from public-key" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand ticket; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Verify a ticket from its QR payload or a PNG of its QR code'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand ticket; and __fish_seen_subcommand_from help" -f -a "public-key" -d 'Print the public key inspectors use to check tickets offline'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand ticket; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand audit; and not __fish_seen_subcommand_from verify head help" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand audit; and not __fish_seen_subcommand_from verify head help" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand audit; and not __fish_seen_subcommand_from verify head help" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand audit; and not __fish_seen_subcommand_from verify head help" -f -a "verify" -d 'Recompute the hash chain and report the first altered, removed or reordered entry'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand audit; and not __fish_seen_subcommand_from verify head help" -f -a "head" -d 'Print the log\'s anchor (ENTRIES:HEAD) to keep outside the database'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand audit; and not __fish_seen_subcommand_from verify head help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand audit; and __fish_seen_subcommand_from verify" -l anchor -d 'ENTRIES:HEAD from an earlier `audit head`, kept outside the database: also finds a log rewritten and re-hashed, or cut off at the end' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand audit; and __fish_seen_subcommand_from verify" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand audit; and __fish_seen_subcommand_from verify" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand audit; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand audit; and __fish_seen_subcommand_from head" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand audit; and __fish_seen_subcommand_from head" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand audit; and __fish_seen_subcommand_from head" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Recompute the hash chain and report the first altered, removed or reordered entry'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "head" -d 'Print the log\'s anchor (ENTRIES:HEAD) to keep outside the database'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand audit; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand export; and not __fish_seen_subcommand_from orders help" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand export; and not __fish_seen_subcommand_from orders help" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand export; and not __fish_seen_subcommand_from orders help" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand export; and not __fish_seen_subcommand_from orders help" -f -a "orders" -d 'Orders created on the service dates --from..=--to (Dhaka time)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand export; and not __fish_seen_subcommand_from orders help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand export; and __fish_seen_subcommand_from orders" -l format -r -f -a "csv\t'Comma-separated, with a header line'
jsonl\t'One JSON object per line'"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand export; and __fish_seen_subcommand_from orders" -l from -d 'First date, YYYY-MM-DD' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand export; and __fish_seen_subcommand_from orders" -l to -d 'Last date, YYYY-MM-DD (inclusive)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand export; and __fish_seen_subcommand_from orders" -l output -d 'Write here instead of standard output' -r -F
complete -c ticketctl -n "__fish_ticketctl_using_subcommand export; and __fish_seen_subcommand_from orders" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand export; and __fish_seen_subcommand_from orders" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand export; and __fish_seen_subcommand_from orders" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand export; and __fish_seen_subcommand_from help" -f -a "orders" -d 'Orders created on the service dates --from..=--to (Dhaka time)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand export; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand events; and not __fish_seen_subcommand_from tail help" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand events; and not __fish_seen_subcommand_from tail help" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand events; and not __fish_seen_subcommand_from tail help" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand events; and not __fish_seen_subcommand_from tail help" -f -a "tail" -d 'Print events as they arrive, one JSON line each (the envelope of docs/events.md), until interrupted'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand events; and not __fish_seen_subcommand_from tail help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand events; and __fish_seen_subcommand_from tail" -l subject -d 'Subjects to watch, with NATS wildcards: `*` is one word, `>` the rest (e.g. ticketctl.order.> or ticketctl.*.expired)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand events; and __fish_seen_subcommand_from tail" -l nats-url -d 'The NATS server' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand events; and __fish_seen_subcommand_from tail" -l stream -d 'The JetStream stream the relay publishes to' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand events; and __fish_seen_subcommand_from tail" -l limit -d 'Stop after this many events' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand events; and __fish_seen_subcommand_from tail" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand events; and __fish_seen_subcommand_from tail" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand events; and __fish_seen_subcommand_from tail" -l from-start -d 'Replay the stream from its first event, then go on with new ones'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand events; and __fish_seen_subcommand_from tail" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand events; and __fish_seen_subcommand_from help" -f -a "tail" -d 'Print events as they arrive, one JSON line each (the envelope of docs/events.md), until interrupted'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand events; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l server -d 'Rehearse against this running server (e.g. http://127.0.0.1:8080) instead of starting one on a fresh embedded database. Repeat it for several `serve` processes on one database: passengers are spread over them in turn' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l admin-email -d 'An admin\'s e-mail on the running servers: with it the rehearsal creates the queued sale for tomorrow\'s trips through the API, and the crowd goes through the waiting room (unless --no-queue)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l admin-password -d 'That admin\'s password' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l jwt-secret -d 'The servers\' --jwt-secret, if they were given one: with --server and --use-database the passengers\' tokens are signed here (by default with the secret the servers keep in the database)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l gateway-url -d 'The servers\' card gateway (their --gateway-url): with --server and --use-database the invariant check reads the gateway\'s ledger there' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l gateway-secret-key -d 'The servers\' --gateway-secret-key' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l passengers -d 'Simulated passengers (each searches, views seats, holds, pays, fetches the ticket)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l concurrency -d 'Passengers active at once (open connections)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l decline-share -d 'Share of declined cards' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l timeout-share -d 'Share of cards whose charge times out' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l abandon-share -d 'Share of passengers who abandon their hold' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l wallet-share -d 'Share of passengers who pay with a mobile wallet (the mock provider\'s test numbers: most pay, some cancel, some pay too late and are refunded)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l arrival-secs -d 'Passengers arrive spread over this many seconds (a queued sale opens halfway)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l admit-rate -d 'Passengers the waiting room admits per second' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l max-active -d 'Shoppers the waiting room lets in at once (default: --concurrency)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l poll-ms -d 'The shortest time between a waiting passenger\'s polls, in milliseconds (the room tells those far back to ask less often)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l baseline-bookings -d 'Bookings the baseline writes' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l chart -d 'Where to write the throughput/latency chart (SVG)' -r -F
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l metrics-out -d 'Write the server\'s /metrics (Prometheus text) at the end of the sale to this file' -r -F
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l use-database -d 'Use --database-url for the embedded server (and for the invariant check with --server) instead of a fresh temporary SQLite file. It is seeded for tomorrow'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l no-queue -d 'Let passengers in directly instead of through the waiting room. (Against --server the waiting room is used only with --admin-email: creating a queued sale needs an admin.)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l baseline -d 'Also measure the raw-storage baseline (bookings written straight to the store)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -l json
complete -c ticketctl -n "__fish_ticketctl_using_subcommand rehearse" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand tui" -l server -d 'The booking server to sell through' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand tui" -l login -d 'The clerk\'s phone or e-mail (the sign-in box is filled in)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand tui" -l print-dir -d 'Where `p` on a ticket writes its printable text (ticket-order-N.txt)' -r -F
complete -c ticketctl -n "__fish_ticketctl_using_subcommand tui" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand tui" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand tui" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand nid; and not __fish_seen_subcommand_from list-flagged clear help" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand nid; and not __fish_seen_subcommand_from list-flagged clear help" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand nid; and not __fish_seen_subcommand_from list-flagged clear help" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand nid; and not __fish_seen_subcommand_from list-flagged clear help" -f -a "list-flagged" -d 'List flagged NIDs, oldest flag first'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand nid; and not __fish_seen_subcommand_from list-flagged clear help" -f -a "clear" -d 'Clear a flagged NID: it may buy again'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand nid; and not __fish_seen_subcommand_from list-flagged clear help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand nid; and __fish_seen_subcommand_from list-flagged" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand nid; and __fish_seen_subcommand_from list-flagged" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand nid; and __fish_seen_subcommand_from list-flagged" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand nid; and __fish_seen_subcommand_from clear" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand nid; and __fish_seen_subcommand_from clear" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand nid; and __fish_seen_subcommand_from clear" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand nid; and __fish_seen_subcommand_from help" -f -a "list-flagged" -d 'List flagged NIDs, oldest flag first'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand nid; and __fish_seen_subcommand_from help" -f -a "clear" -d 'Clear a flagged NID: it may buy again'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand nid; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and not __fish_seen_subcommand_from list clear help" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and not __fish_seen_subcommand_from list clear help" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and not __fish_seen_subcommand_from list clear help" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and not __fish_seen_subcommand_from list clear help" -f -a "list" -d 'List decisions, newest first (at most 500)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and not __fish_seen_subcommand_from list clear help" -f -a "clear" -d 'Clear the blocks on a subject, as `risk list` names it (e.g. `ticketctl risk clear account 42`)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and not __fish_seen_subcommand_from list clear help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and __fish_seen_subcommand_from list" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and __fish_seen_subcommand_from list" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and __fish_seen_subcommand_from list" -l active -d 'Only blocks still in force'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and __fish_seen_subcommand_from clear" -l redis-url -d 'The Redis the servers keep their counters in, to reset them there too' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and __fish_seen_subcommand_from clear" -l redis-prefix -d 'Prefix of the deployment\'s Redis keys' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and __fish_seen_subcommand_from clear" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and __fish_seen_subcommand_from clear" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and __fish_seen_subcommand_from clear" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and __fish_seen_subcommand_from help" -f -a "list" -d 'List decisions, newest first (at most 500)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and __fish_seen_subcommand_from help" -f -a "clear" -d 'Clear the blocks on a subject, as `risk list` names it (e.g. `ticketctl risk clear account 42`)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand risk; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and not __fish_seen_subcommand_from init replicate takeover status help" -l region -d 'This server\'s region, when the deployment spans several: writes for trips homed elsewhere are forwarded there, and writes here are fenced by the region\'s epochs at the witness. Needs --witness-url' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and not __fish_seen_subcommand_from init replicate takeover status help" -l peer -d 'Another region\'s servers: NAME=URL (e.g. B=http://10.1.0.5:8080), repeatable' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and not __fish_seen_subcommand_from init replicate takeover status help" -l witness-url -d 'The witness\'s Redis (a third site), holding region leases and epochs' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and not __fish_seen_subcommand_from init replicate takeover status help" -l witness-prefix -d 'Prefix of the witness\'s keys' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and not __fish_seen_subcommand_from init replicate takeover status help" -l lease-ttl-ms -d 'Life of a region\'s lease at the witness, in milliseconds; renewed every fifth of it' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and not __fish_seen_subcommand_from init replicate takeover status help" -l skew-margin-ms -d 'Writes stop this long before the lease could expire at the witness (the clock-skew margin), in milliseconds' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and not __fish_seen_subcommand_from init replicate takeover status help" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and not __fish_seen_subcommand_from init replicate takeover status help" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and not __fish_seen_subcommand_from init replicate takeover status help" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and not __fish_seen_subcommand_from init replicate takeover status help" -f -a "init" -d 'Register the regions at the witness (numbered in the order given, once), home this database\'s unhomed trips among them by train, and start its ids in this region\'s range. Run once per region\'s database, with the same list'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and not __fish_seen_subcommand_from init replicate takeover status help" -f -a "replicate" -d 'Replicate this region\'s database with the others\' (Postgres logical replication, each region publishing the rows it writes), after `init`, before its servers start: first without --from in every region\'s database (each publishes), then with --from (each subscribes; a subscription made before its publication exists never streams)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and not __fish_seen_subcommand_from init replicate takeover status help" -f -a "takeover" -d 'Move every trip of region FROM to this region (--region): refused while FROM still holds its lease at the witness. Run against this region\'s database; its servers sell the trips at their next lease renewal'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and not __fish_seen_subcommand_from init replicate takeover status help" -f -a "status" -d 'The witness\'s epochs and leases, and this database\'s trip homes'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and not __fish_seen_subcommand_from init replicate takeover status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from init" -l regions -d 'Every region, comma-separated, the same order everywhere (e.g. A,B)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from init" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from init" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from init" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from replicate" -l from -d 'A peer region\'s database: NAME=CONNINFO (a libpq URL or key=value string that region\'s database server accepts from this one), repeatable' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from replicate" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from replicate" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from replicate" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from takeover" -l from -d 'The region whose trips move here' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from takeover" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from takeover" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from takeover" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from status" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from status" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from help" -f -a "init" -d 'Register the regions at the witness (numbered in the order given, once), home this database\'s unhomed trips among them by train, and start its ids in this region\'s range. Run once per region\'s database, with the same list'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from help" -f -a "replicate" -d 'Replicate this region\'s database with the others\' (Postgres logical replication, each region publishing the rows it writes), after `init`, before its servers start: first without --from in every region\'s database (each publishes), then with --from (each subscribes; a subscription made before its publication exists never streams)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from help" -f -a "takeover" -d 'Move every trip of region FROM to this region (--region): refused while FROM still holds its lease at the witness. Run against this region\'s database; its servers sell the trips at their next lease renewal'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from help" -f -a "status" -d 'The witness\'s epochs and leases, and this database\'s trip homes'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand region; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-nid" -l listen -d 'Address to listen on' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-nid" -l api-key -d 'The API key clients must send in `X-Api-Key` (give `serve` the same with --nid-registry-key)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-nid" -l slow-ms -d 'How long NIDs starting with 222 take to answer, in milliseconds' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-nid" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-nid" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-nid" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand completions" -l dir -d 'Write into this directory instead of standard output' -r -F
complete -c ticketctl -n "__fish_ticketctl_using_subcommand completions" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand completions" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-sms" -l listen -d 'Address to listen on' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-sms" -l api-key -d 'The API key every request must carry (default: any key is taken)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-sms" -l slow-ms -d 'How long the slow test number (8801999000030) takes to answer, in milliseconds' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-sms" -l log-file -d 'Also append each accepted message to this file as a JSON line' -r -F
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-sms" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-sms" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-sms" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-gateway" -l listen -d 'Address to listen on' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-gateway" -l ledger -d 'The gateway\'s own ledger (SQLite file, created if missing); default: in memory' -r -F
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-gateway" -l latency-ms -d 'How long a charge takes, in milliseconds' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-gateway" -l lost-answer-ms -d 'How long test cards …0119 (charged, answer lost) and …0259 (no answer) keep a caller waiting, in milliseconds: longer than its charge timeout' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-gateway" -l secret-key -d 'The merchant\'s key: charges, refunds, token checks, the ledger' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-gateway" -l publishable-key -d 'The key clients tokenize cards with (may be published)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-gateway" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-gateway" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-gateway" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand simulate" -l schedules -d 'How many schedules to run' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand simulate" -l first-seed -d 'The first schedule\'s seed; the others follow it' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand simulate" -l seed -d 'Run this one schedule only (to replay a failure) and say what it did' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand simulate" -l sabotage -d 'Weaken the protocol on purpose, to see the checks catch it' -r -f -a "none\t'The protocol as designed'
no-fence\t'Writes and replicated rows are applied without comparing epochs'
clock-skew\t'One region\'s clock runs 20–30 % slow, beyond the lease\'s skew margin'"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand simulate" -l buyers -d 'Buyers per schedule' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand simulate" -l rtt-ms -d 'Round trip between the regions and to the witness, in milliseconds' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand simulate" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand simulate" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand simulate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-wallet" -l listen -d 'Address to listen on' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-wallet" -l merchant-key -d 'The merchant\'s key: authenticates the booking server and signs its callbacks' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-wallet" -l ledger -d 'The provider\'s own ledger (SQLite file, created if missing); default: in memory' -r -F
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-wallet" -l late-delay-ms -d 'How long a late success (numbers ending 0119) stays processing before it completes and is reported, in milliseconds: longer than the booking server\'s wallet payment timeout' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-wallet" -l callback-backoff-ms -d 'The wait before retrying a callback the merchant did not take, in milliseconds (doubled on each of up to 6 attempts)' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-wallet" -l database-url -d 'Database: sqlite://PATH (embedded default) or postgres://USER@HOST/DB' -r
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-wallet" -l log-format -d 'Log lines on stderr as text or as one JSON object per line (a request\'s lines carry its request_id either way). Filter with TICKETCTL_LOG' -r -f -a "text\t''
json\t''"
complete -c ticketctl -n "__fish_ticketctl_using_subcommand mock-wallet" -s h -l help -d 'Print help'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "serve" -d 'Run the booking server (HTTP API)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "migrate" -d 'Create or update the database schema'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "seed" -d 'Load the Bangladesh Railway network and create trips for the coming days'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "station" -d 'List or add stations'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "train" -d 'List or show trains'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "trip" -d 'List, search or schedule trips'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "user" -d 'Manage users and roles'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "ticket" -d 'Verify tickets (signature and status) or print the public key'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "audit" -d 'Check the tamper-evident audit log'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "export" -d 'Export orders for the accounts office, as CSV or JSON Lines'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "events" -d 'Watch the events `serve --nats-url` publishes to NATS JetStream'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "rehearse" -d 'Rehearse a peak sale against a real server and check the invariants afterwards'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "tui" -d 'The counter clerks\' terminal: seat map and cash sales through a running server'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "nid" -d 'List or clear NIDs flagged for abuse'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "risk" -d 'List fraud-velocity decisions or clear a block'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "region" -d 'Regions: home trips among them, take over a lost region\'s trips, status'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "mock-nid" -d 'Run the mock NID registry (the verification service registration asks)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "completions" -d 'Write shell completion scripts'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "mock-sms" -d 'Run the mock SMS gateway (a Bangladeshi bulk-SMS API) for development and tests'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "mock-gateway" -d 'The mock card gateway, a process of its own: tokenizes cards, charges tokens'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "simulate" -d 'Check the two-region protocol on thousands of seeded schedules of faults'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "mock-wallet" -d 'The mock mobile-wallet provider (bKash-like), a process of its own: payment pages, signed callbacks, status queries, refunds'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and not __fish_seen_subcommand_from serve migrate seed station train trip user ticket audit export events rehearse tui nid risk region mock-nid completions mock-sms mock-gateway simulate mock-wallet help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from station" -f -a "list" -d 'List all stations'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from station" -f -a "show" -d 'Find one station by code or name (English or Bangla)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from station" -f -a "add" -d 'Add a station, or update its names'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from train" -f -a "list" -d 'List all trains'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from train" -f -a "show" -d 'Show one train\'s timetable and coaches'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from trip" -f -a "list" -d 'List trips from a date (default today) for some days'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from trip" -f -a "search" -d 'Search trips between two stations, with filters, fares, free seats and facet counts'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from trip" -f -a "add" -d 'Schedule a trip of a train on a date (creates its seat inventory)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from trip" -f -a "cancel" -d 'Cancel a trip: every confirmed order refunded in full through its payment method, holds released, passengers told. Run it again to finish a cancellation that was interrupted; nothing is refunded twice'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from trip" -f -a "delay" -d 'Delay a trip: passengers are told and may cancel with a full refund'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from trip" -f -a "sale-window" -d 'Open, close or move the sale window of a trip, or of every trip in a range of dates (an Eid wave)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from trip" -f -a "coach" -d 'Add a coach to one trip, or take a coach out of sale (or back)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "add" -d 'Create a user (passenger, clerk or admin)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "list" -d 'List users'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "set-role" -d 'Change a user\'s role'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "export" -d 'Print everything stored about a user as one JSON document'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "erase" -d 'Erase a user\'s personal data (names, phone, e-mail, NID, passengers, SMS); orders, tickets and ledgers stay, anonymous. Refused while the user has upcoming trips'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from user" -f -a "purge" -d 'Anonymise personal data older than N days: passengers and counter buyers of trips that left before then, delivered SMS bodies, and passenger accounts with no sign-in or trip since (as `serve --personal-data-retention-days` does hourly)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from ticket" -f -a "verify" -d 'Verify a ticket from its QR payload or a PNG of its QR code'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from ticket" -f -a "public-key" -d 'Print the public key inspectors use to check tickets offline'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from audit" -f -a "verify" -d 'Recompute the hash chain and report the first altered, removed or reordered entry'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from audit" -f -a "head" -d 'Print the log\'s anchor (ENTRIES:HEAD) to keep outside the database'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from export" -f -a "orders" -d 'Orders created on the service dates --from..=--to (Dhaka time)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from events" -f -a "tail" -d 'Print events as they arrive, one JSON line each (the envelope of docs/events.md), until interrupted'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from nid" -f -a "list-flagged" -d 'List flagged NIDs, oldest flag first'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from nid" -f -a "clear" -d 'Clear a flagged NID: it may buy again'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from risk" -f -a "list" -d 'List decisions, newest first (at most 500)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from risk" -f -a "clear" -d 'Clear the blocks on a subject, as `risk list` names it (e.g. `ticketctl risk clear account 42`)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from region" -f -a "init" -d 'Register the regions at the witness (numbered in the order given, once), home this database\'s unhomed trips among them by train, and start its ids in this region\'s range. Run once per region\'s database, with the same list'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from region" -f -a "replicate" -d 'Replicate this region\'s database with the others\' (Postgres logical replication, each region publishing the rows it writes), after `init`, before its servers start: first without --from in every region\'s database (each publishes), then with --from (each subscribes; a subscription made before its publication exists never streams)'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from region" -f -a "takeover" -d 'Move every trip of region FROM to this region (--region): refused while FROM still holds its lease at the witness. Run against this region\'s database; its servers sell the trips at their next lease renewal'
complete -c ticketctl -n "__fish_ticketctl_using_subcommand help; and __fish_seen_subcommand_from region" -f -a "status" -d 'The witness\'s epochs and leases, and this database\'s trip homes'
