// A real Medusa v2 server for omnisync's end-to-end tests: Admin API on 127.0.0.1 only, no admin
// dashboard, no Redis (in-memory event bus and locking), no telemetry. PostgreSQL is started by the
// test fixture on a private loopback port and passed in DATABASE_URL.
const { loadEnv, defineConfig } = require('@medusajs/framework/utils')

process.env.MEDUSA_DISABLE_TELEMETRY = 'true'
loadEnv(process.env.NODE_ENV || 'development', process.cwd())

if (!process.env.DATABASE_URL) {
  throw new Error('DATABASE_URL must name the test PostgreSQL database')
}

const local = 'http://127.0.0.1,http://localhost'

module.exports = defineConfig({
  projectConfig: {
    databaseUrl: process.env.DATABASE_URL,
    databaseLogging: false,
    http: {
      storeCors: local,
      adminCors: local,
      authCors: local,
      jwtSecret: process.env.JWT_SECRET || 'omnisync-e2e-jwt-secret',
      cookieSecret: process.env.COOKIE_SECRET || 'omnisync-e2e-cookie-secret',
    },
  },
  admin: { disable: true },
})
