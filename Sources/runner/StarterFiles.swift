/// What `runner init` writes: small, commented, and valid as written (a test validates and
/// runs them), so the first `runner run` works before anything is changed.
enum StarterFiles {
    static let pipeline = """
        # A first pipeline. Run it:        runner run hello who=you
        # Check it, run nothing:           runner validate   ·   runner plan hello who=you
        # The language: docs/pipelines.md; hosts over SSH: docs/ssh.md; commands: docs/cli.md.
        name: hello
        description: Greet from every host of the 'servers' group

        params:                          # runner run hello who=you
          who: { default: world, pattern: '^[a-z][a-z0-9-]*$', description: whom to greet }

        # Evaluated once, in order. ${{ }} holds a Lua expression.
        vars:
          greeting: hello, ${{ params.who }}

        # Secrets are masked everywhere (console, run history, errors). Uncomment to use:
        # secrets:
        #   - env: API_TOKEN             # from runner's environment, as ${{ secrets.API_TOKEN }}
        #   - sops: secrets.env.sops     # every value of a SOPS file (keys: ../.sops.yaml)

        concurrency: hello-${{ params.who }}   # never two runs with the same key at once
        timeout: 10m

        steps:
          - name: Greet
            on: servers                  # a host or group of inventory.yml beside this file
            # Values reach the shell as environment variables, never as shell code:
            env:
              GREETING: ${{ vars.greeting }}
              WORK_DIR: ${{ host.labels.work_dir }}
            run: echo "$GREETING from $(hostname), working in $WORK_DIR"

          - id: clock                    # an id makes the step's outputs readable later
            run: date -u +%Y-%m-%dT%H:%M:%SZ

          - name: Report
            lua: runner.log("greeted " .. params.who .. " at " .. steps.clock.outputs.stdout)

        finally:                         # always runs: after success, failure or Ctrl-C
          - run: echo "hello finished"

        """

    static let inventory = """
        # The hosts and groups that `on:` can name (docs/ssh.md explains every field).
        # Sudo passwords and key passphrases can live in a SOPS file of the inventory's own;
        # a host's sudo_password then names one of its values:
        # secrets: { sops: inventory.secrets.sops.yaml }

        hosts:
          here:                          # this machine, as a host: its steps run here, no SSH
            connection: local
            labels: { work_dir: /tmp }   # read in pipelines as ${{ host.labels.work_dir }}

          # A server over SSH: keys from ssh-agent or `identity`, ~/.ssh/config honoured, host
          # keys checked against ~/.ssh/known_hosts (ssh-keyscan it first, see docs/ssh.md).
          # web1:
          #   address: 203.0.113.10
          #   user: deploy
          #   identity: ~/.ssh/id_ed25519
          #   sudo_password: web1_sudo   # a secret's name; needed only by steps with sudo: on web1
          #   labels: { work_dir: /srv/app }

        groups:
          servers: [here]                # add web1 once it is defined

        """

    /// The `.sops.yaml`: a rule for the given age public keys, or an empty list with how to
    /// make a key when none was found.
    static func sopsConfig(recipients: [String]) -> String {
        var text = """
            # Which age keys new SOPS files are encrypted for: `sops -e` and runner's
            # `uses: sops` with encrypt: read this file (the nearest one above the file).
            # Decrypting needs a matching private key: SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, or
            # ~/.config/sops/age/keys.txt. More keys (a colleague's, the control server's):
            # separate them with commas.


            """
        if recipients.isEmpty {
            text += """
                # No age key was found here when this file was written. Make one, then list its
                # public key (the "Public key: age1…" line) below:
                #   mkdir -p ~/.config/sops/age && age-keygen -o ~/.config/sops/age/keys.txt
                creation_rules: []
                #  - age: age1yourpublickey

                """
        } else {
            text += """
                creation_rules:
                  - age: \(recipients.joined(separator: ","))

                """
        }
        return text
    }
}
