"""The local stack: an AWS emulator, an API Gateway stand-in and an SQS poller."""
