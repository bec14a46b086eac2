from webhooks_cli.cli import main

main()
