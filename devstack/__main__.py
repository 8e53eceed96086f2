from devstack.cli.fast import main

main()
