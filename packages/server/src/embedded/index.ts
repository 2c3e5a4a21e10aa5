export {
  type EmbeddedPostgres,
  EmbeddedPostgresError,
  type EmbeddedPostgresOptions,
  startEmbeddedPostgres,
} from './postgres.js';
export {
  type CapturedMailbox,
  type CapturedMailSummary,
  type SmtpCapture,
  type SmtpCaptureOptions,
  startSmtpCapture,
} from './smtp-capture.js';
