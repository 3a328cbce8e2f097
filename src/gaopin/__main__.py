from gaopin.cli import main

main()
