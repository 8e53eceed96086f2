from devstack.cli.app import main

main()
