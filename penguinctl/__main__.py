from penguinctl.cli.app import main

main()
