// A real Vendure 3 server for omnisync's end-to-end tests.
//
// In-memory sql.js database (a fresh, empty store at every start), Admin API only, loopback only,
// no admin UI, no telemetry. Configured by environment variables:
//   VENDURE_PORT              port on 127.0.0.1 (required)
//   VENDURE_SUPERADMIN_USER   superadmin identifier (default "superadmin")
//   VENDURE_SUPERADMIN_PASS   superadmin password (default "superadmin")
//   VENDURE_COOKIE_SECRET     cookie signing secret (default: a fixed test value)
// Prints "OMNISYNC-VENDURE-READY <port>" once the server listens; exits 1 if it cannot start.
// Exits by itself when the process that started it goes away (a test run killed with SIGKILL).
'use strict';

process.env.VENDURE_DISABLE_TELEMETRY = 'true';

const { bootstrap, DefaultLogger, LogLevel } = require('@vendure/core');

const port = Number(process.env.VENDURE_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('VENDURE_PORT must be a port number');
  process.exit(2);
}

const config = {
  apiOptions: {
    hostname: '127.0.0.1',
    port,
    adminApiPath: 'admin-api',
    shopApiPath: 'shop-api',
  },
  authOptions: {
    tokenMethod: ['bearer', 'cookie', 'api-key'],
    superadminCredentials: {
      identifier: process.env.VENDURE_SUPERADMIN_USER || 'superadmin',
      password: process.env.VENDURE_SUPERADMIN_PASS || 'superadmin',
    },
    cookieOptions: { secret: process.env.VENDURE_COOKIE_SECRET || 'omnisync-e2e-cookie-secret' },
  },
  dbConnectionOptions: {
    type: 'sqljs',
    synchronize: true,
    logging: false,
  },
  paymentOptions: { paymentMethodHandlers: [] },
  logger: new DefaultLogger({ level: LogLevel.Warn }),
  plugins: [],
};

const parent = process.ppid;

bootstrap(config)
  .then((app) => {
    console.log(`OMNISYNC-VENDURE-READY ${port}`);
    const stop = () => {
      app.close().then(() => process.exit(0), () => process.exit(0));
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    // Orphaned (the test process died without stopping us): stop too.
    setInterval(() => {
      if (process.ppid !== parent) stop();
    }, 1000).unref();
  })
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
