"""Which lines of a runbook section become steps: orders behind conditions, verbs beyond a
short list, what to look for in output, causes named in an alert's meaning; and which do not:
pointers that are only a link, commands that are only a comment, sample output."""

from __future__ import annotations

from dataclasses import replace

from copilot.assist import steps
from copilot.guardrails.verify import Proposed, verify
from copilot.knowledge.passages import Passage, make_passage
from tests.conftest import a_chunk


def _passage(section: str, text: str) -> Passage:
    chunk = a_chunk(
        text,
        section=section,
        source="kiln/oven-temperature.md",
        cid="c1",
        title="Oven Temperature Drift",
        lines=(1, 40),
    )
    return make_passage(1, chunk, score=1.0, similarity=0.8)


def _texts(section: str, text: str) -> list[str]:
    return [c.text for c in steps.extract(_passage(section, text))]


def test_orders_behind_a_condition_are_steps() -> None:
    found = _texts(
        "Mitigation",
        "In case of maintenance ensure to [cordon and drain the kiln](https://kiln.example/d).\n\n"
        "If the controller is wedged, restart it from the panel.\n\n"
        "For humidity based drift ensure the vents are open.\n\n"
        "If the reading came from the old probe then fine-tune the offset.\n\n"
        "If the oven is misconfigured, troubleshoot the error from its logs.\n\n"
        "If the `mountpoint` label is `/` or `/var`, remove old recipes to resolve it:\n\n"
        "1. Open a shell on the controller.",
    )
    assert len(found) == 7, found
    assert "If the `mountpoint` label is `/` or `/var`, remove old recipes to resolve it:" in found
    assert found[0].startswith("In case of maintenance ensure")


def test_plain_orders_with_any_common_verb_are_steps() -> None:
    found = _texts(
        "Mitigation",
        "Migrate some trays to another oven.\nBump the fan limit directly on the controller.\n"
        "Follow the steps described in the cooling guide.",
    )
    assert found == [
        "Migrate some trays to another oven.",
        "Bump the fan limit directly on the controller.",
        "Follow the steps described in the cooling guide.",
    ]


def test_statements_are_not_steps() -> None:
    assert (
        _texts(
            "Mitigation",
            "Mitigation depends on the error the controller reports and there is no generic one.\n\n"
            "Request latency is higher while the kiln heats.\n\n"
            "Access to the panel is logged.\n\n"
            "Temperatures above 300 degrees are normal during a glaze cycle.",
        )
        == []
    )


def test_otherwise_is_read_with_the_case_it_is_the_other_branch_of() -> None:
    found = _texts(
        "Mitigation",
        "How you fix it depends on the oven. If the alarm fires during a firmware update, the "
        "reading might recover after some time has passed. Otherwise, restart the probe "
        "from the panel.\n\n"
        "You may be able to buy time by opening the vents. Otherwise, move the trays to kiln 2.\n\n"
        "Check that the panel shows the right kiln. If not, switch panels and go on.",
    )
    assert found == [
        "If the alarm fires during a firmware update, the reading might recover after some time "
        "has passed. Otherwise, restart the probe from the panel.",
        "You may be able to buy time by opening the vents. Otherwise, move the trays to kiln 2.",
        "Check that the panel shows the right kiln. If not, switch panels and go on.",
    ]


def test_where_to_do_it_before_the_order_is_a_step_read_with_what_it_shows() -> None:
    found = _texts(
        "Diagnosis",
        "In the kiln console under Observe, select the humidity dashboard. There are both tray "
        "and door panels there.\n\n"
        "Using the panel, go to Trays -> Status.\n\n"
        "In most kilns, the probe sits near the door.",
    )
    assert found == [
        "In the kiln console under Observe, select the humidity dashboard. There are both tray "
        "and door panels there.",
        "Using the panel, go to Trays -> Status.",
    ]


def test_a_problem_said_to_clear_on_its_own_in_some_case_is_a_step_to_wait() -> None:
    found = _texts(
        "Mitigation",
        "If a firmware update is in progress, the alarm may automatically resolve in some time "
        "when the controller comes up again.\n\n"
        "The alarm resolves when the temperature drops.",
    )
    assert found == [
        "If a firmware update is in progress, the alarm may automatically resolve in some time "
        "when the controller comes up again."
    ]


def test_a_note_is_a_remark_unless_it_says_what_to_note_or_do() -> None:
    found = _texts(
        "Diagnosis",
        "Note the `oven` and `tray` labels from the alert.\n\n"
        "Note that in many cases a kiln running out of trays still has heat to spare.\n\n"
        "Please note that acting promptly is essential to avoid further impact.\n\n"
        "NOTE: Manual corrections to the recipe should be reported to the vendor.\n\n"
        "**Note:** The controller applies these patches in bulk.\n\n"
        "Note: Replace `<id>` with the tray number shown on the panel.",
    )
    assert found == [
        "Note the `oven` and `tray` labels from the alert.",
        "Note: Replace `<id>` with the tray number shown on the panel.",
    ]


def test_what_to_look_for_in_output_is_a_check() -> None:
    found = _texts(
        "Diagnosis",
        "Check the controller:\n\n```shell\nkilnctl status oven-3\n```\n\n"
        "The output should describe why the element is not heating.\n\n"
        "Logs should contain something like `element open circuit`.",
    )
    assert "The output should describe why the element is not heating." in found
    assert "Logs should contain something like `element open circuit`." in found


def test_and_under_a_steps_command_goes_on_with_that_step() -> None:
    found = steps.extract(
        _passage(
            "Mitigation",
            "To change the set point run:\n\n```shell\n$ kilnctl edit oven-3\n```\n\n"
            "And edit `.spec.setPoint` to the new temperature. Eventually the oven reports "
            '"settling".\n\n'
            "```shell\n$ kilnctl status oven-3\n```\n\n"
            "And then restart the fan with `kilnctl fan restart oven-3`.",
        )
    )
    first = found[0]
    assert first.text == (
        "To change the set point run the command below, and edit `.spec.setPoint` to the new "
        'temperature. Eventually the oven reports "settling".'
    )
    assert first.command == "$ kilnctl edit oven-3"
    # "And then" is the next order, not more of the one before.
    assert found[-1].text == "And then restart the fan with `kilnctl fan restart oven-3`."
    assert found[-1].command == "kilnctl fan restart oven-3"


def test_a_heading_that_is_an_order_says_what_a_bare_introduction_does_not() -> None:
    found = _texts(
        "Mitigation > 2. Roll back the recipe",
        "Preferred, handles every oven at once:\n\n```shell\nkilnctl recipe rollback\n```\n\n"
        "Stop the conveyor first:\n\n```shell\nkilnctl conveyor stop\n```\n",
    )
    assert found == [
        "Roll back the recipe: Preferred, handles every oven at once:",
        "Stop the conveyor first:",
    ]
    # A heading that is not an order adds nothing.
    assert _texts(
        "Mitigation > Recipe versions",
        "Preferred, handles every oven at once:\n\n```shell\nkilnctl recipe rollback\n```\n",
    ) == ["Preferred, handles every oven at once:"]


def test_orders_in_the_passive_and_where_to_find_what_they_need() -> None:
    found = _texts(
        "Mitigation",
        "This alarm should be routed to a quiet channel and configured to hold info alarms. "
        "Such configuration is available at https://kiln.example/docs/alarm-routes.yaml\n\n"
        "Take a note of the tray number from the alarm and find its oven.\n\n"
        "The oven should be warm by now.",
    )
    assert found == [
        "This alarm should be routed to a quiet channel and configured to hold info alarms. "
        "Such configuration is available at https://kiln.example/docs/alarm-routes.yaml",
        "Take a note of the tray number from the alarm and find its oven.",
    ]


def test_a_list_of_tools_is_read_with_the_sentence_that_introduces_it() -> None:
    found = _texts(
        "Mitigation",
        "You can catch bad recipes earlier with better recipe linters in CI such as:\n\n"
        "- [recipelint](https://kiln.example/recipelint)\n"
        "- [trayschema](https://kiln.example/trayschema)\n"
        "- ovenfmt (there is a python and a go version)\n"
        "- some ovens have a dry-run switch\n",
    )
    assert found == [
        "You can catch bad recipes earlier with better recipe linters in CI such as: "
        "[recipelint](https://kiln.example/recipelint); [trayschema](https://kiln.example/"
        "trayschema); ovenfmt (there is a python and a go version); some ovens have a dry-run "
        "switch"
    ]
    # Items that are orders are steps of their own.
    found = _texts(
        "Mitigation",
        "Then, as needed:\n\n- [recipelint](https://kiln.example/recipelint)\n"
        "- restart the oven controller\n",
    )
    assert "restart the oven controller" in found


def test_causes_named_in_the_meaning_are_checks_and_nothing_else_there_is() -> None:
    passage = _passage(
        "Oven Temperature Drift > Meaning",
        "The alert fires when an oven drifts 10 degrees from its set point.\n\n"
        "If the oven looks fine, a common cause could be a loose thermocouple or a stale "
        "calibration table.",
    )
    found = steps.extract(passage)
    assert [c.phase for c in found] == ["diagnose"]
    assert "loose thermocouple" in found[0].text


def test_a_cause_said_without_its_subject_is_a_check() -> None:
    passage = _passage(
        "Oven Temperature Drift > Meaning",
        "Usually happens when a recipe sets the wrong fan profile or the vents are shut.\n\n"
        "This usually indicates that the controller cannot reach the probe.\n\n"
        "Usually the oven settles in a minute.",
    )
    assert [c.text[:24] for c in steps.extract(passage)] == [
        "Usually happens when a r",
        "This usually indicates t",
    ]


def test_pointers_and_empty_commands_are_not_steps() -> None:
    found = steps.extract(
        _passage(
            "Mitigation",
            "- [1](https://kiln.example/docs/one)\n"
            "- See [Kiln guide](https://kiln.example/guide)\n"
            "- Remove stale recipes:\n\n  ```shell\n  # TODO: command needed\n  ```\n\n"
            "```shell\n# TODO\n```\n",
        )
    )
    assert [(c.text, c.command) for c in found] == [("Remove stale recipes:", None)]


def test_a_link_to_another_page_of_the_knowledge_base_is_the_step_to_follow() -> None:
    # "Review pods: [pod debug](helpers/podDebug.md)": the runbook sends its reader to a helper
    # page for this part; a footnote to a web page, or "See [X](x.md)", stays a pointer.
    found = _texts(
        "Mitigation > Review ovens",
        "[oven debug](helpers/ovenDebug.md)\n\n"
        "[Troubleshoot_kiln](helpers/troubleshootKiln.md) and\n"
        "[gather_logs](helpers/gatherLogs.md) to give support more to go on.\n\n"
        '[Kiln restart]({{< ref "kiln-restart.md" >}}) once the oven has cooled.\n\n'
        "- [1](https://kiln.example/docs/one)\n"
        "- See [Kiln guide](kiln-guide.md)\n"
        "- [docs](https://kiln.example/guide.md)\n",
    )
    assert found == [
        "[oven debug](helpers/ovenDebug.md)",
        "[Troubleshoot_kiln](helpers/troubleshootKiln.md) and [gather_logs](helpers/gatherLogs.md)"
        " to give support more to go on.",
        # Hugo's ref shortcode is a link to a page of the knowledge base too.
        '[Kiln restart]({{< ref "kiln-restart.md" >}}) once the oven has cooled.',
    ]


def test_an_introduction_over_a_list_of_links_carries_the_links() -> None:
    # "For mitigation strategies, refer to:" over links only: the links are what it says to
    # read. Dropped one by one as pointers, they left an introduction that led nowhere.
    found = _texts(
        "Mitigation",
        "For mitigation strategies and solutions, refer to:\n\n"
        "- [Troubleshooting kiln drift](https://kiln.example/solutions/42)\n"
        "- [Kiln networking](https://kiln.example/docs/net)\n\n"
        "Reset the probe offset to apply these:\n\n"
        "- [Probe guide](https://kiln.example/probe)\n"
        "- Write the new offset down on the oven's card.\n",
    )
    assert found[0] == (
        "For mitigation strategies and solutions, refer to: "
        "[Troubleshooting kiln drift](https://kiln.example/solutions/42); "
        "[Kiln networking](https://kiln.example/docs/net)"
    )
    # A list that says more than links is read item by item, as before: the pointer alone is
    # dropped, the order kept.
    assert found[1:] == ["Write the new offset down on the oven's card."]


def test_an_action_section_of_links_only_is_the_step_to_read_them() -> None:
    # "## Mitigation" holding nothing but "[Restore quorum](https://...)": where the procedure
    # is written is the step; an answer without it had no mitigation at all.
    found = _texts(
        "Mitigation",
        "[Restore kiln quorum](https://kiln.example/solutions/7)\n"
        "[Troubleshooting monitors](https://kiln.example/docs/mon)\n",
    )
    assert found == [
        "[Restore kiln quorum](https://kiln.example/solutions/7) "
        "[Troubleshooting monitors](https://kiln.example/docs/mon)"
    ]
    # A section with steps of its own keeps its pointers out, as before.
    assert _texts("Mitigation", "Restart the kiln.\n\n[1](https://kiln.example/one)\n") == [
        "Restart the kiln."
    ]


def test_storage_tools_in_inline_code_are_commands_and_install_is_an_order() -> None:
    found = steps.extract(
        _passage(
            "Diagnosis",
            "Run the following command for each monitor of the kiln store.\n"
            "`ceph tell mon.ID mon_status`\n\n"
            "Install the probe package on the ovens without it.\n\n"
            "Observe the difference in firmware versions between the two ovens.",
        )
    )
    # The command alone on its line is the command of the order before it.
    assert [(c.text, c.command) for c in found] == [
        (
            "Run the following command for each monitor of the kiln store.",
            "ceph tell mon.ID mon_status",
        ),
        ("Install the probe package on the ovens without it.", None),
        ("Observe the difference in firmware versions between the two ovens.", None),
    ]


def test_a_command_alone_after_a_statement_is_a_step_of_its_own() -> None:
    found = steps.extract(_passage("Diagnosis", "The kiln is hot. `kilnctl status k1`"))
    assert [(c.text, c.command) for c in found] == [("`kilnctl status k1`", "kilnctl status k1")]


def test_please_view_is_an_order() -> None:
    found = _texts(
        "Mitigation",
        "This alert fires along with many others. Please view and troubleshoot the other alerts "
        "first.",
    )
    assert found == ["Please view and troubleshoot the other alerts first."]


def test_an_item_with_two_commands_and_sample_output_keeps_the_commands() -> None:
    text = (
        "1. If the `kilnd` service is stopped, start it:\n\n"
        "    ```shell\n    systemctl start kilnd\n    ```\n"
        "    If it is running, restart it\n\n"
        "    ```shell\n    systemctl restart kilnd\n    ```\n\n"
        "    It then prints something like:\n\n"
        "    ```shell\n"
        "    Oct 18 19:39:36 oven-3 kilnd[2055]: element reset, heating started\n"
        "    ```\n"
    )
    passage = _passage("Mitigation", text)
    found = steps.extract(passage)
    assert len(found) == 1
    assert found[0].command == "systemctl start kilnd\nsystemctl restart kilnd"
    # Each line of the folded command is quoted from the section, so it passes verification;
    # a line the section does not have does not.
    allowed = {passage.id: passage.text}
    ok = verify([Proposed(found[0].text, found[0].command, [passage.id])], allowed, set())
    assert ok.steps and not ok.blocked
    forged = found[0].command + "\nsystemctl disable kilnd"
    bad = verify([Proposed(found[0].text, forged, [passage.id])], allowed, set())
    assert not bad.steps and bad.blocked


def test_an_indented_code_block_is_the_command_of_the_sentence_before_it() -> None:
    text = (
        "Check the kilns which should have a controller running.\n\n"
        "    kilnctl get kiln -l zone=east\n\n"
        "Check the controller logs for the failing kiln\n\n"
        "    kilnctl logs <controller-name> -n kilns --all-containers\n"
        "    kilnctl describe controller <controller-name>\n\n"
        "- Restart the controller from the panel.\n\n"
        "    The panel is behind the oven door.\n"
    )
    passage = _passage("Diagnosis", text)
    found = steps.extract(passage)
    by_text = {c.text: c.command for c in found}
    assert by_text["Check the kilns which should have a controller running."] == (
        "kilnctl get kiln -l zone=east"
    )
    assert by_text["Check the controller logs for the failing kiln"] == (
        "kilnctl logs <controller-name> -n kilns --all-containers\n"
        "kilnctl describe controller <controller-name>"
    )
    # A list item's indented continuation is its text, not code.
    restart = next(c for c in found if c.text.startswith("Restart the controller"))
    assert restart.command is None and "behind the oven door" in restart.text
    # The commands are the document's own lines: verification accepts them.
    allowed = {passage.id: passage.text}
    proposals = [Proposed(c.text, c.command, [passage.id]) for c in found]
    assert len(verify(proposals, allowed, set()).steps) == len(found)


def test_options_given_to_whoever_runs_the_system_and_labelled_cases_are_steps() -> None:
    found = _texts(
        "Mitigation",
        "The customer may delete old firing logs and the kiln will recover by itself.\n\n"
        "**Current size < 1TB**:  \nThe operator may add a shelf and the kiln recovers.\n\n"
        "**Current size is 1TB**:\nPlease contact the kiln vendor's support.\n\n"
        "The kiln was installed in 2019.\n",
    )
    assert any(t.startswith("The customer may delete old firing logs") for t in found)
    assert any("The operator may add a shelf" in t for t in found)
    assert any("Please contact the kiln vendor's support." in t for t in found)
    assert not any("installed in 2019" in t for t in found)


def test_orders_said_as_what_doing_them_achieves_or_what_must_change_are_steps() -> None:
    found = _texts(
        "Mitigation",
        "Running `kilnctl check-config kiln.yaml` on your configuration file will help you "
        "detect syntax problems. You could also roll the kiln profile back to the previous "
        "version. Usually adding another kiln solves the issue. Otherwise the kiln profile "
        "needs to be fixed. The operator will have to order a new kiln for more capacity. "
        "Running kilns will be drained first. Starting with version 4, the alert fires "
        "earlier. Logging is verbose by default.",
    )
    assert found == [
        "Running `kilnctl check-config kiln.yaml` on your configuration file will help you "
        "detect syntax problems.",
        "You could also roll the kiln profile back to the previous version.",
        "Usually adding another kiln solves the issue. Otherwise the kiln profile needs to be "
        "fixed.",
        "The operator will have to order a new kiln for more capacity.",
    ]


def test_advice_to_the_reader_what_not_to_do_and_an_action_said_by_its_effect_are_steps() -> None:
    found = _texts(
        "Mitigation",
        "User shouldn't increase kiln limits unless the glaze is behaving unexpectedly. "
        "You cannot expand the number of trays on a kiln after it is built. "
        "Do not change the kiln operands directly. "
        "Deleting an incorrect probe entry should trigger its recreation with a correct offset. "
        "Setting the tray quota to 0 will disable the quota. "
        "Talk with the glaze team or read the kiln manual about the recipe. "
        "Running kilns will be drained first. "
        "Nothing will happen until the kiln cools. "
        "For in-line kilns recreate the probes. "
        "For most users restart is not needed. "
        "For the check to pass the kiln must be cold. "
        "If the vendor retires the host, the kiln might need a manual reboot.",
    )
    assert found == [
        "User shouldn't increase kiln limits unless the glaze is behaving unexpectedly.",
        "You cannot expand the number of trays on a kiln after it is built.",
        "Do not change the kiln operands directly.",
        "Deleting an incorrect probe entry should trigger its recreation with a correct offset.",
        "Setting the tray quota to 0 will disable the quota.",
        "Talk with the glaze team or read the kiln manual about the recipe.",
        # An order behind whom it is for, without a comma; a remedy said as what it needs.
        "For in-line kilns recreate the probes.",
        "If the vendor retires the host, the kiln might need a manual reboot.",
    ]


def test_an_item_is_shown_with_the_condition_its_list_is_under() -> None:
    found = steps.extract(
        _passage(
            "Mitigation",
            "If you suspect the element is failing:\n\n"
            "- Check the element's resistance.\n"
            "- Replace the element.\n\n"
            "If the door seal leaks, replace the seal:\n\n"
            "- Order a seal from stores.\n\n"
            "Other things to check:\n\n"
            "- Check the vent.\n",
        )
    )
    assert [c.shown for c in found] == [
        "If you suspect the element is failing: Check the element's resistance.",
        "If you suspect the element is failing: Replace the element.",
        # An introduction that is an order of its own is a step; its items stand alone.
        "If the door seal leaks, replace the seal:",
        "Order a seal from stores.",
        "Check the vent.",
    ]
    # What the step does is weighed and matched without the condition.
    assert found[1].text == "Replace the element." and found[1].requires_approval is False


def test_a_command_is_what_is_typed_at_the_prompt_not_the_output_shown_under_it() -> None:
    text = (
        "Check the reloader logs:\n\n"
        "```shell\n"
        "$ kilnctl logs sts/kiln-main -c reloader\n\n"
        'level=error ts=2021-09-24T11:24:52Z msg="reload failed" err="connection refused"\n'
        "```\n\n"
        "- Look at the file limits on the controller:\n"
        "  ```shell\n"
        "  # Open a shell on the controller\n"
        "  $ NODE='<value of instance label>'\n"
        '  $ kilnctl debug "node/$NODE"\n'
        "  sh-4.4# sysctl -a | grep 'fs.file-'\n"
        "  fs.file-max = 1597016\n"
        "  $ kilnctl patch kiln k1 --type=merge -p '{\n"
        '    "spec": {"zone": "east"}\n'
        "  }'\n"
        "  kiln.example/k1 patched\n"
        "  ```\n"
        "  ```text\n"
        "  NAME   STATUS\n"
        "  k1     Ready\n"
        "  ```\n"
        "- Apply the profile:\n"
        "  ```shell\n"
        "  $ cat <<EOF | kilnctl apply -f -\n"
        "  kind: Profile\n"
        "  EOF\n"
        "  ```\n"
    )
    passage = _passage("Diagnosis", text)
    found = {c.text: c.command for c in steps.extract(passage)}
    assert found["Check the reloader logs:"] == "$ kilnctl logs sts/kiln-main -c reloader"
    limits = found["Look at the file limits on the controller:"] or ""
    assert limits.splitlines() == [
        "# Open a shell on the controller",
        "$ NODE='<value of instance label>'",
        '$ kilnctl debug "node/$NODE"',
        "sh-4.4# sysctl -a | grep 'fs.file-'",
        "$ kilnctl patch kiln k1 --type=merge -p '{",
        '"spec": {"zone": "east"}',
        "}'",
    ]
    # A heredoc's body is part of its command.
    assert "kind: Profile" in (found["Apply the profile:"] or "")
    # What is left is still the document's own lines: verification accepts every step.
    allowed = {passage.id: passage.text}
    proposals = [Proposed(t, c, [passage.id]) for t, c in found.items()]
    assert len(verify(proposals, allowed, set()).steps) == len(found)


def test_orders_said_mid_sentence_as_what_they_achieve_or_as_what_is_best() -> None:
    found = _texts(
        "Mitigation",
        "Depending on the load usually adding another kiln solves the issue. "
        "Depending on the season the kiln runs hotter. "
        "If a kiln is failing to cool. It's best to start with the fan logs on the kiln. "
        "If the profile is right, you will need more kilns for the batch.\n\n"
        "Sometimes manually deleting the tray helps :)",
    )
    assert found == [
        "Depending on the load usually adding another kiln solves the issue.",
        "It's best to start with the fan logs on the kiln.",
        "If the profile is right, you will need more kilns for the batch.",
        "Sometimes manually deleting the tray helps :)",
    ]


def test_a_pointer_to_documentation_is_read_with_what_to_look_up_there() -> None:
    found = _texts(
        "Mitigation",
        "Some kiln models support a second shelf. Follow the [vendor documentation]"
        "(https://kiln.example/shelf) for details.\n\n"
        "Check the shelf count. Consult the kiln guide.",
    )
    assert found == [
        "Some kiln models support a second shelf. Follow the [vendor documentation]"
        "(https://kiln.example/shelf) for details.",
        "Check the shelf count. Consult the kiln guide.",
    ]


def test_component_log_lines_are_output_and_a_root_shell_block_is_commands() -> None:
    found = steps.extract(
        _passage(
            "Diagnosis",
            "When the kiln restarts the following will be logged.\n\n"
            "```console\nI1126 17:15:38.991090    3069 kiln.go:243] Heating to 900\n```\n\n"
            "- If these steps do not help, gather the following logs:\n\n"
            "    ```console\n    # journalctl -u kiln-heater\n    # rpm-ostree status\n    ```\n",
        )
    )
    assert [(c.text, c.command) for c in found] == [
        (
            "If these steps do not help, gather the following logs:",
            "# journalctl -u kiln-heater\n# rpm-ostree status",
        )
    ]


def test_a_long_step_keeps_its_words_and_drops_its_links_targets() -> None:
    target = "https://kiln.example/" + "docs/" * 60
    text = (
        f"- The kiln fails to heat.\n  - Check the [heater]({target}) fuse.\n"
        f"  - Check the [thermostat]({target}) wiring.\n"
        "  - Make sure the kiln door is closed.\n"
    )
    (found,) = _texts("Diagnosis", text)
    assert "Make sure the kiln door is closed" in found
    assert "Check the heater fuse" in found and "https://" not in found


def test_a_section_called_runbook_is_the_procedure() -> None:
    from copilot.knowledge.passages import section_phase

    assert section_phase("KilnBudgetBurn > Runbook") == "mitigate"
    assert section_phase("Kiln runbook > Meaning") is None
    assert _texts("KilnBudgetBurn > Runbook", "1. Take a look at the kiln dashboard.\n") == [
        "Take a look at the kiln dashboard."
    ]


def test_a_verification_heading_is_read_in_its_place() -> None:
    """Verifying under Diagnosis is a check; "after" a case (a heading's or a title's) is not
    the verification after a fix; a heading that opens on a fix is a fix."""
    from copilot.knowledge.passages import section_phase

    assert section_phase("KilnFederationError > Diagnosis > 2. Verify the binding") == "diagnose"
    assert section_phase("Diagnosis > Kiln access > Validate the token") == "diagnose"
    assert section_phase("Kiln > Diagnosis > Verification") == "diagnose"
    assert section_phase("Kiln > Mitigation > Restart the kiln agent (after upgrade)") == (
        "mitigate"
    )
    assert section_phase("Kiln > Mitigation > Fix validation errors") == "mitigate"
    assert section_phase("Kiln crash spike after a glaze change > Meaning") is None
    assert section_phase("Kiln crash spike after a glaze change > Related") is None
    # Unchanged: the verification that follows a fix, under a title that names a check too.
    assert section_phase("Kiln > Mitigation > Verification") == "verify"
    assert section_phase("Kiln checks > Mitigation > Verification") == "verify"
    assert section_phase("Kiln > Mitigation > After recovery") == "verify"
    assert section_phase("Kiln > Mitigation > 4. Verify resolution") == "verify"


def test_an_order_that_says_where_it_comes_in_the_sequence_is_a_step() -> None:
    found = _texts(
        "Mitigation",
        "Then restart the kiln controller. Next, run the calibration job again. "
        "Then the kiln cools down. Now that the door is shut it heats evenly. "
        "If it still drifts, then replace the thermocouple.",
    )
    assert found == [
        "Then restart the kiln controller.",
        "Next, run the calibration job again.",
        "If it still drifts, then replace the thermocouple.",
    ]


def test_an_order_behind_a_case_named_without_a_comma_is_a_step_that_needs_approval() -> None:
    found = steps.extract(
        _passage(
            "Mitigation",
            "In rare cases roll back the kiln profile to the previous version. "
            "In extremely rare situations scale the oldest kiln pools to 0 and delete them. "
            "In most cases the kiln recovers.",
        )
    )
    assert [(c.text, c.requires_approval) for c in found] == [
        ("In rare cases roll back the kiln profile to the previous version.", False),
        ("In extremely rare situations scale the oldest kiln pools to 0 and delete them.", True),
    ]


def test_an_order_led_by_and_also_or_at_first_is_a_step() -> None:
    found = _texts(
        "Mitigation",
        "Open the kiln volume's claim. And the door stays shut while it is open. "
        "And edit `spec.size` to the new size. "
        "Also ensure the kiln agent knows its new limit. At first just wait, the kiln may "
        "settle on its own.",
    )
    assert found == [
        "Open the kiln volume's claim.",
        "And edit `spec.size` to the new size.",
        "Also ensure the kiln agent knows its new limit.",
        "At first just wait, the kiln may settle on its own.",
    ]


def test_a_short_remark_ending_a_steps_paragraph_is_read_with_it() -> None:
    found = _texts(
        "Mitigation",
        "Give the kiln container more CPU limits. Requests can stay the same.\n\n"
        "Verify the kiln agent logs. Here an example with network issues.\n\n"
        "Restart the kiln agent. The door stays shut. Check the thermocouple afterwards.",
    )
    assert found == [
        "Give the kiln container more CPU limits. Requests can stay the same.",
        "Verify the kiln agent logs.",
        "Restart the kiln agent.",
        "Check the thermocouple afterwards.",
    ]


def test_a_statement_about_what_a_command_does_is_not_a_step() -> None:
    found = steps.extract(
        _passage(
            "Mitigation",
            "Stop colleagues from deploying on top of the incident:\n"
            "```bash\nlark deploy freeze --scope kiln\n```\n"
            "A freeze blocks `lark deploy` and auto-sync for all kilns except those listed "
            "with `--allow`.\n\n"
            "The `lark deploy status` command shows which kilns are frozen.",
        )
    )
    assert [(c.text, c.command) for c in found] == [
        (
            "Stop colleagues from deploying on top of the incident:",
            "lark deploy freeze --scope kiln",
        ),
        ("The `lark deploy status` command shows which kilns are frozen.", "lark deploy status"),
    ]


def test_an_order_written_as_a_link_or_behind_a_bare_condition_is_a_step() -> None:
    found = _texts(
        "Mitigation",
        "[Cordon and drain the kiln](https://kiln.example/drain) and replace it.\n"
        "If the drift persists look into the controller logs.\n\n"
        "If the drift grows the alert fires again.\n\n"
        "In the list of kilns, press the menu button at the end of the kiln's row.",
    )
    assert found == [
        "[Cordon and drain the kiln](https://kiln.example/drain) and replace it.",
        "If the drift persists look into the controller logs.",
        "In the list of kilns, press the menu button at the end of the kiln's row.",
    ]


def test_a_short_order_about_it_is_read_with_the_sentence_that_says_what_it_is() -> None:
    found = _texts(
        "Mitigation",
        "The probe mount might also be configured as read-only. Ensure it's writable.\n\n"
        "Restart the kiln agent. Then watch it.",
    )
    assert found == [
        "The probe mount might also be configured as read-only. Ensure it's writable.",
        "Restart the kiln agent. Then watch it.",
    ]


def test_a_step_that_runs_the_query_above_gets_it_from_the_section_that_showed_it() -> None:
    def section(ordinal: int, name: str, text: str) -> Passage:
        p = _passage(name, text)
        p.chunk = replace(p.chunk, ordinal=ordinal)
        p.id = f"P{ordinal}"
        return p

    shown = section(
        1,
        "Impact",
        "This query shows which kiln drifts:\n\n```promql\nmax by (kiln) (kiln_temp_drift) > 5\n```",
    )
    diagnosis = section(
        2,
        "Diagnosis",
        "You can find the kiln from the alert or by running the query detailed above.\n\n"
        "You can also read the kiln logs.",
    )
    found = steps.point_above(
        [c for p in (shown, diagnosis) for c in steps.extract(p)], [shown, diagnosis]
    )
    assert [(c.text[:40], c.command) for c in found] == [
        ("You can find the kiln from the alert or ", "max by (kiln) (kiln_temp_drift) > 5"),
        ("You can also read the kiln logs.", None),
    ]
    # It cites the section the query is written in too, so verification finds the query.
    allowed = {p.id: p.text for p in (shown, diagnosis)}
    assert found[0].cites == ["P2", "P1"]
    checked = verify([Proposed(c.text, c.command, c.cites) for c in found], allowed, set())
    assert len(checked.steps) == 2 and not checked.blocked


def test_a_remedy_said_as_a_statement_is_a_step() -> None:
    found = _texts(
        "Mitigation",
        "Sometimes giving the controller more memory is the only way to fix it.\n\n"
        "This is often the fastest way to fix it.\n\n"
        "There is no way to fix a cracked element in place.",
    )
    assert found == ["Sometimes giving the controller more memory is the only way to fix it."]


def test_what_a_source_tells_the_reader_is_a_check() -> None:
    found = _texts(
        "Diagnosis",
        "Use the `kiln_firing_rejected_total` metric to find which program is throttled.\n"
        "The program also provides information on the affected kilns and their operators.",
    )
    assert found[-1] == (
        "The program also provides information on the affected kilns and their operators."
    )


def test_an_alert_the_runbook_says_to_ignore_says_so_first() -> None:
    found = _texts(
        "Oven Temperature Drift [Deprecated]",
        "This alert is deprecated. You can safely ignore or silence it.\n\n"
        "The oven drifts when the door seal wears.",
    )
    assert found == ["This alert is deprecated. You can safely ignore or silence it."]


def test_an_option_a_passive_remedy_a_purpose_and_how_to_do_it_are_steps() -> None:
    found = _texts(
        "Mitigation",
        "Replace the door seal on every oven of the line.\n\n"
        "Another option is to retire the oven if it affects only one,\n\n"
        "If a second thermometer is not an option, the alert can be silenced.\n\n"
        "To see the drift, click on the ovens tab and select the oven.\n\n"
        "Always raise the setpoint by 5 degrees and watch the curve.\n\n"
        "To resolve this issue, follow one of these steps:\n\n"
        "The oven may be restarted by the controller at night.\n\n"
        "The purpose of the drift alert is to warn the bakers.",
    )
    assert found == [
        "Replace the door seal on every oven of the line.",
        "Another option is to retire the oven if it affects only one,",
        "If a second thermometer is not an option, the alert can be silenced.",
        "To see the drift, click on the ovens tab and select the oven.",
        "Always raise the setpoint by 5 degrees and watch the curve.",
    ]


def test_a_cause_in_a_condition_cases_and_an_order_about_the_step_before() -> None:
    # "Use it whenever a release is the likely cause" says when the runbook applies: not a
    # cause to rule out. A named cause still is.
    meaning = _texts(
        "Meaning",
        "This is a procedure, not a diagnosis: use it whenever a bad recipe is the likely cause "
        "of burnt loaves. A common cause is a stuck thermostat.",
    )
    assert meaning == ["A common cause is a stuck thermostat."]
    # The items under a heading of cases are cases, not steps; an order among them stays one.
    assert _texts(
        "Mitigation > Cases that need head baker approval",
        "- Retiring an oven during the morning bake.\n"
        "- Changing more than one recipe at a time.\n"
        "- Page the head baker before the second change.\n",
    ) == ["Page the head baker before the second change."]
    # An order about the step before it is read with that step, not as a step of its own.
    assert _texts(
        "Mitigation > Lifting the freeze",
        "`kiln recipes unfreeze --line all` once the head baker agrees. Note it in `#bakery`.\n\n"
        "The door seal might be worn. Replace it.",
    ) == [
        "`kiln recipes unfreeze --line all` once the head baker agrees. Note it in `#bakery`.",
        "The door seal might be worn. Replace it.",
    ]


def test_a_blockquote_reads_without_its_marks() -> None:
    found = _texts(
        "Mitigation",
        "Replace each oven door and the tray attached to it.\n\n"
        "> Make sure the line has a spare oven first;\n"
        "> retiring the last one stops the bake.\n\n"
        "> Note that retiring the tray loses its recipe.\n",
    )
    assert found == [
        "Replace each oven door and the tray attached to it.",
        "Make sure the line has a spare oven first; retiring the last one stops the bake.",
    ]


def test_an_item_over_a_code_block_at_the_margin_is_the_step_that_runs_it() -> None:
    passage = _passage(
        "Mitigation",
        "1. Drain the trays that were left in the cooled ovens:\n"
        "```bash\n"
        "kilnctl tray drain <tray> -n <line>\n"
        "```\n"
        "This frees the shelf under it.\n\n"
        "2. Shown for reference:\n"
        "```\n"
        "NAME   STATUS\n"
        "tray-1 Cold\n"
        "```\n\n"
        "**Important** Plan and apply these changes before the next bake to avoid a cold "
        "start.\n",
    )
    found = [(c.text, c.command) for c in steps.extract(passage)]
    # The item says what the block does; "Run:" alone did, and the item was lost.
    assert found[0] == (
        "Drain the trays that were left in the cooled ovens:",
        "kilnctl tray drain <tray> -n <line>",
    )
    # An item over what a command prints introduces nothing to run.
    assert not any(text.startswith("Shown for reference") for text, _ in found)
    assert (
        "**Important** Plan and apply these changes before the next bake to avoid a cold start.",
        None,
    ) in found


def test_an_example_after_e_g_does_not_end_the_sentence() -> None:
    # "(e.g. DaemonSet ...": a capital after "e.g." opens the example, not the next sentence.
    # Split there, the step read "Identify the root cause (e.g." and lost its order.
    found = _texts(
        "Mitigation",
        "Identify the root cause (e.g. Probe drift, a stuck vent or a worn element) and "
        "restore at least one heating zone on a calibrated oven.\n\n"
        "Compare the zones, i.e. Zone 1 against zone 2. If the drift stays, page the kiln "
        "team.\n",
    )
    assert found[0] == (
        "Identify the root cause (e.g. Probe drift, a stuck vent or a worn element) and "
        "restore at least one heating zone on a calibrated oven."
    )
    assert "Compare the zones, i.e. Zone 1 against zone 2." in found


def test_a_remedy_said_as_what_fixes_it_is_a_step_read_with_what_it_fixes() -> None:
    found = _texts(
        "Mitigation",
        "When probe errors are returned for a valid kiln name, this is likely because the "
        "controller looks the name up under several zones. It can be optimized by **adding a "
        "trailing dot to the kiln name**, which tells the controller the name is complete.\n\n"
        "A drifting reading could be resolved by removing the stale probe entry.\n\n"
        "The backlog is usually resolved by morning. It can be reduced by being patient.\n",
    )
    assert found == [
        # "It" is what the sentence before names: the two are read together.
        "When probe errors are returned for a valid kiln name, this is likely because the "
        "controller looks the name up under several zones. It can be optimized by **adding a "
        "trailing dot to the kiln name**, which tells the controller the name is complete.",
        "A drifting reading could be resolved by removing the stale probe entry.",
    ]


def test_an_order_behind_a_last_resort_and_its_condition_or_an_aside_is_a_step() -> None:
    found = _texts(
        "Mitigation",
        "As a last resort if none of the above fix the drift and the alert is still firing, "
        "for probe specific issues follow the steps described in the [recovery guide](r.md).\n\n"
        "If the kiln is not in a `Firing` state--for instance, if it is stuck in a `Preheat` "
        "state--try to find out why.\n\n"
        "The probe -- not the controller -- drifts.\n",
    )
    assert found == [
        "As a last resort if none of the above fix the drift and the alert is still firing, "
        "for probe specific issues follow the steps described in the [recovery guide](r.md).",
        "If the kiln is not in a `Firing` state--for instance, if it is stuck in a `Preheat` "
        "state--try to find out why.",
    ]


def test_what_a_reading_should_be_where_it_shows_and_a_tool_that_tells_are_checks() -> None:
    found = _texts(
        "Diagnosis",
        "To rule out a slow probe, the 99th percentile of `kiln_probe_read_seconds` should be "
        "less than 10ms.\n\n"
        "All the probe errors should also be logged in each respective controller's logs.\n\n"
        'The command "kilnctl health" provides also information about the zones.\n\n'
        "The glaze should be darker than the clay.\n",
    )
    assert found == [
        "To rule out a slow probe, the 99th percentile of `kiln_probe_read_seconds` should be "
        "less than 10ms.",
        "All the probe errors should also be logged in each respective controller's logs.",
        'The command "kilnctl health" provides also information about the zones.',
    ]


def test_the_sentence_that_introduces_a_block_is_read_with_the_step_that_takes_it() -> None:
    found = steps.extract(
        _passage(
            "Diagnosis",
            "Open a shell on the controller and use the standard tools to diagnose the drift. "
            "Note that you might also need to install the probe tools in the debug shell:\n\n"
            "```console\n$ kilnctl debug zone-3\n$ cat /proc/kiln/probes\n```\n",
        )
    )
    assert [(c.text, c.command) for c in found] == [
        (
            "Open a shell on the controller and use the standard tools to diagnose the drift. "
            "Note that you might also need to install the probe tools in the debug shell:",
            "$ kilnctl debug zone-3\n$ cat /proc/kiln/probes",
        )
    ]


def test_a_short_diagnosis_that_orders_nothing_is_what_to_look_for() -> None:
    said = "Usually exhausted IOPS for the controller's probe storage."
    assert _texts("Diagnosis", said + "\n") == [said]
    # Not in a mitigation, not a long explanation, and not beside a step of its own.
    assert _texts("Mitigation", said + "\n") == []
    long = " ".join(["The kiln controller keeps a history of every firing it ran."] * 5)
    assert _texts("Diagnosis", long + "\n") == []
    assert _texts("Diagnosis", "Misconfigured probes, bad offsets.. Check the probe logs.\n") == [
        "Check the probe logs."
    ]
