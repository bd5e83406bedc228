from podkit.cli.main import run

run()
