"""Facts about this build of podkit that only a release knows.

The release workflow writes them before it builds (from GitHub's context); a source checkout
keeps these defaults. `podkit init` uses them to pin its GitHub Action by commit.
"""

# The GitHub repository podkit is published from (owner/name): the home of its Action.
REPOSITORY = "podkit/podkit"
# The commit this release was built from; empty outside a release build.
COMMIT = ""
