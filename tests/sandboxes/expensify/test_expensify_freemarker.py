"""The sandbox's FreeMarker subset on plain values, no server: what each construct prints."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandboxes.expensify.freemarker import (
    MissingValueError,
    RenderOptions,
    TemplateError,
    TemplateRenderError,
    TemplateSyntaxError,
    render,
)

# A model shaped as the server's: `reports` with their `transactionList`, and `addHeader`.
MODEL: dict[str, Any] = {
    "addHeader": True,
    "reports": [
        {"reportID": "41000103", "reportName": "Chicago", "total": 56550, "transactionList": [
            {"merchant": "American Airlines", "modifiedMerchant": "", "amount": 52340,
             "modifiedAmount": "", "created": "2026-11-02", "modifiedCreated": "",
             "category": "Airfare", "tag": "Strategy", "billable": False,
             "receiptObject": {"url": "https://r/aa.pdf"}},
            {"merchant": "Uber", "modifiedMerchant": "Uber Chicago", "amount": 4210,
             "modifiedAmount": 3990, "created": "2026-11-04", "modifiedCreated": "2026-11-05",
             "category": "Ground Transportation", "tag": "Engineering:R\\:D", "billable": True,
             "receiptObject": {}},
        ]},
        {"reportID": "41000104", "reportName": "Empty", "total": 0, "transactionList": []},
    ],
}  # fmt: skip

# Written for these tests after the manual's report-exporter sample: a header line when
# `addHeader`, then one CSV row per expense, with a running report and expense number kept
# in `<#assign>`ed variables, each row's cells joined with <#t> and ended by <#lt>.
MANUAL_STYLE_CSV = """<#if addHeader == true>
    Merchant,Amount,Category,Report,Line<#lt>
</#if>
<#assign reportNumber = 1>
<#assign lineNumber = 1>
<#list reports as report>
    <#list report.transactionList as expense>
        ${expense.merchant},<#t>
        <#-- the original amount, in cents -->
        ${expense.amount},<#t>
        ${expense.category},<#t>
        ${reportNumber},<#t>
        ${lineNumber}<#lt>
        <#assign lineNumber = lineNumber + 1>
    </#list>
    <#assign reportNumber = reportNumber + 1>
</#list>
"""


def fm(template: str, model: dict[str, Any] | None = None, **options: Any) -> str:
    return render(template, MODEL if model is None else model, RenderOptions(**options))


def test_a_manual_style_csv_template_prints_a_header_and_one_row_per_expense() -> None:
    assert fm(MANUAL_STYLE_CSV) == (
        "Merchant,Amount,Category,Report,Line\n"
        "American Airlines,52340,Airfare,1,1\n"
        "Uber,4210,Ground Transportation,1,2\n"
    )
    assert fm(MANUAL_STYLE_CSV, {**MODEL, "addHeader": False}).startswith("American Airlines,")


def test_lines_of_only_tags_vanish_and_trim_directives_cut_white_space() -> None:
    template = "a\n  <#if true>\n  b\n  </#if>\n  c <#rt>\n  d<#lt>\n  e<#nt>\n"
    assert fm(template) == "a\n  b\n  c d\n  e\n"
    assert fm("<#list [1, 2] as i>\n  ${i}<#t>\n</#list>|") == "12|"


def test_sep_closed_or_bare_prints_between_items_only() -> None:
    assert fm("<#list [1, 2, 3] as i>${i}<#sep>, </#sep>!</#list>") == "1, !2, !3!"
    assert fm("<#list [1, 2, 3] as i>${i}<#sep>, </#list>") == "1, 2, 3"
    assert fm("[<#list reports as r>${r.reportID}<#sep>,</#list>]") == "[41000103,41000104]"


def test_else_in_list_prints_for_an_empty_sequence() -> None:
    template = "<#list reports as r>${r.reportName}:<#list r.transactionList as e>${e.merchant}"
    template += "<#sep>/</#sep><#else>none</#list>;</#list>"
    assert fm(template) == "Chicago:American Airlines/Uber;Empty:none;"


def test_loop_variable_built_ins_and_their_legacy_names() -> None:
    template = (
        "<#list ['a', 'b', 'c'] as x>${x?index}${x?counter}${x?has_next?c}${x?is_first?c}"
        "${x?is_last?c}${x?item_parity}${x_index}${x_has_next?c};</#list>"
    )
    assert fm(template) == (
        "01truetruefalseodd0true;12truefalsefalseeven1true;23falsefalsetrueodd2false;"
    )


def test_break_continue_and_listing_a_hash_as_key_and_value() -> None:
    assert fm("<#list 1..9 as i><#if i == 2><#continue></#if><#if i gt 3><#break></#if>${i}"
              "</#list>") == "13"  # fmt: skip
    assert fm('<#list {"a": 1, "b": 2} as k, v>${k}=${v}<#sep>&</#list>') == "a=1&b=2"


@pytest.mark.parametrize(
    ("amount", "printed"), [(0, "zero"), (-5, "refund"), (999, "small"), (1000, "large")]
)
def test_if_elseif_else_pick_the_first_true_branch(amount: int, printed: str) -> None:
    template = "<#if a == 0>zero<#elseif a < 0>refund<#elseif a lt 1000>small<#else>large</#if>"
    assert fm(template, {"a": amount}) == printed


def test_default_operator_replaces_missing_values_but_not_empty_ones() -> None:
    expense = MODEL["reports"][0]["transactionList"][0]
    model = {"e": expense}
    assert fm('${e.nope!"x"}|${e.nope!}|${e.nope!e.merchant}|${(e.nope)!"y"}', model) == (
        "x||American Airlines|y"
    )
    # `!` sees an empty modifiedMerchant as present: prefer edited values with ?has_content.
    assert fm("[${e.modifiedMerchant!e.merchant}]", model) == "[]"
    assert fm("${e.receiptObject.url!''} ${(e.missing.url)!'none'}", model) == (
        "https://r/aa.pdf none"
    )
    assert fm("${a!1 + 2}", {}) == "3"  # the default takes a whole expression: a!(1 + 2)


def test_a_default_on_a_dotted_name_covers_only_its_last_step() -> None:
    with pytest.raises(MissingValueError, match=r"==> e\.missing "):
        fm("${e.missing.url!'x'}", {"e": {}})


def test_exists_and_has_content() -> None:
    template = (
        "${e.merchant???c} ${e.nope???c} ${(e.nope.deeper)???c} ${e.modifiedMerchant?has_content?c}"
        " ${e.modifiedAmount?has_content?c} ${e.receiptObject?has_content?c}"
        " ${e.nope?has_content?c}"
    )
    assert fm(template, {"e": MODEL["reports"][0]["transactionList"][0]}) == (
        "true false false false false true false"
    )


def test_operators_follow_freemarkers_precedence_and_types() -> None:
    template = (
        '${1 + 2 * 3} ${(1 + 2) * 3} ${7 % 3} ${-7 % 3} ${52340 / 100} ${1 / 3} ${"a" + 1 + 2}'
        " ${(1 < 2 && !false)?c} ${(2 >= 3 || 3 gte 3)?c} ${('b' == \"b\")?c}"
        " ${([1] + [2])?size}"
    )
    assert fm(template) == "7 9 1 -1 523.4 0.333333333333 a12 true true true 2"
    with pytest.raises(TemplateRenderError, match="Can't compare"):
        fm('<#if 1 == "1">x</#if>')
    with pytest.raises(TemplateRenderError, match="Division by zero"):
        fm("${1 / 0}")


@pytest.mark.parametrize(
    ("expression", "printed"),
    [
        ("52340?c", "52340"),
        ("(52340 / 100)?string('0.00')", "523.40"),
        ("(-12000 / 100)?string('0.00')", "-120.00"),
        ("0.125?string('0.00')", "0.12"),  # Java's DecimalFormat rounds half-even
        ("0.135?string('0.00')", "0.14"),
        ("1234567.891?string('#,##0.##')", "1,234,567.89"),
        ("1.5?round", "2"),
        ("(-1.5)?round", "-1"),
        ("(-3)?abs", "3"),
        ("'41.5'?number + 1", "42.5"),
        ("true?string('yes', 'no')", "yes"),
        ("false?string('true', 'false')", "false"),
        ("false?c", "false"),
        ("'Ab cD'?upper_case + 'Ab'?lower_case + 'ab'?cap_first", "AB CDabAb"),
        ("'  x  '?trim?length", "1"),
        ("reports?size", "2"),
        ("'a:b:c'?split(':')?join('/')", "a/b/c"),
        ("'Engineering:R&D'?replace('&', ' and ')", "Engineering:R and D"),
        ("'2026-11-02 10:00:00'?keep_before(' ')", "2026-11-02"),
        ("'2026-11-02 10:00:00'?keep_after(' ')", "10:00:00"),
        ("'Uber Chicago'?contains('Chi')?c", "true"),
        ("'Uber'?starts_with('Ub')?c + 'Uber'?ends_with('x')?c", "truefalse"),
        ("'abcdef'[1..2] + 'abcdef'[4..] + 'abcdef'[0..<1]", "bcefa"),
        ("'abcdef'?substring(2, 4)", "cd"),
        ("'a b&c'?url", "a%20b%26c"),
        ("'<a href=\"x\">'?html", "&lt;a href=&quot;x&quot;&gt;"),
        ('"it\'s"?xml', "it&apos;s"),
        ("'say \"hi\"'?js_string", 'say \\"hi\\"'),
        ("'2026-11-02'?date('yyyy-MM-dd')?string('MM/dd/yyyy')", "11/02/2026"),
        ("'2026-11-02'?date?string('MMM d, yyyy')", "Nov 2, 2026"),
        (
            "'2026-11-07 10:02:00'?datetime('yyyy-MM-dd HH:mm:ss')?string('d MMMM yy h a')",
            "7 November 26 10 AM",
        ),
        ("[3, 1, 2]?sort?reverse?first", "3"),
        ("(true)?then('a', missing)", "a"),
        ("'x'?left_pad(3, '.') + 'y'?right_pad(2)", "..xy "),
    ],
)
def test_built_ins(expression: str, printed: str) -> None:
    assert fm("${" + expression + "}") == printed


def test_bare_numbers_follow_the_number_format_and_bare_booleans_print_nothing() -> None:
    assert fm("${1234567}") == "1234567"
    assert fm("${1234567} ${0.5}", number_format="number") == "1,234,567 0.5"
    assert fm("[${true}]") == "[]"  # sheet 5 [HELP]: booleans need ?string("true","false")
    assert fm('<#setting number_format="0.00"><#setting boolean_format="yes,no">${1} ${true}') == (
        "1.00 yes"
    )


def test_strings_interpolate_and_unescape_and_now_is_the_servers_clock() -> None:
    moment = datetime(2026, 11, 20, 9, 30)
    template = '<#assign who = "${reports[0].reportName} \\"Q4\\"">${who}|${r"C:\\x"}|${.now}'
    assert fm(template, now=moment) == 'Chicago "Q4"|C:\\x|2026-11-20 09:30:00'


def test_compress_collapses_white_space() -> None:
    assert fm("<#compress>\n  [ a,\n\n     b ]  \n</#compress>|") == "[ a,\nb ]|"


def test_assign_operators() -> None:
    assert fm("<#assign n = 1 s = 'a'><#assign n += 2 s += 'b'><#assign n++>${n}${s}") == "4ab"


@given(st.text())
def test_json_string_round_trips_any_text_through_a_json_document(text: str) -> None:
    printed = fm('{"v":"${v?json_string}"}', {"v": text})
    assert json.loads(printed) == {"v": text}


@given(st.integers(min_value=-(10**12), max_value=10**12), st.booleans())
def test_c_prints_cents_and_flags_as_json_numbers_and_booleans(cents: int, flag: bool) -> None:
    printed = fm("[${cents?c},${(cents / 100)?c},${flag?c}]", {"cents": cents, "flag": flag})
    assert json.loads(printed, parse_float=Decimal) == [cents, Decimal(cents) / 100, flag]


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("${reports[0].nope}", "The following has evaluated to null or missing: ==> "
                               "reports[0].nope [at line 1, column 3]"),
        ("x\n<#list reports as r>${r.reportID}\n${r.nope}</#list>",
         "The following has evaluated to null or missing: ==> r.nope [at line 3, column 3]"),
        ("<#if reports>x</#if>", "Expected a boolean, but this has evaluated to a sequence"),
        ("${reports}", "Expected a string or something automatically convertible"),
        ("${'a'?c}", "Expected a number, but this has evaluated to a string ==> 'a'?c"),
        ("<#list reports[0] as r></#list>", "Expected a sequence, but this has evaluated to a "
                                            "hash"),
    ],
)  # fmt: skip
def test_render_errors_say_what_and_where(template: str, message: str) -> None:
    with pytest.raises(TemplateRenderError) as raised:
        fm(template)
    assert message in raised.value.message


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("<#list reports as r>${r.reportID}", "line 1, column 1: Unclosed <#list>"),
        ("<#if true>a<#else>b<#else>c</#if>", "Unexpected <#else>"),
        ("a\n</#if>", "line 2, column 1: Unexpected </#if>"),
        ("${1 +}", "Encountered the end of the expression, but was expecting an expression"),
        ("${x?frobnicate}", "Unknown or unsupported built-in: ?frobnicate"),
        ("<#macro row>x</#macro>", "The <#macro> directive is not supported"),
        ("<#include 'x.ftl'>", "The <#include> directive is not supported"),
        ("<@row/>", "User-defined directives (<@...>) are not supported"),
        ("<#frobnicate>", "Unknown directive: #frobnicate"),
        ("<#sep>", "<#sep> must be inside <#list>"),
        ("${'open}", "Unclosed string literal"),
        ("<#-- never closed", "Unclosed comment"),
        ("#{total}", "The deprecated #{...} interpolation is not supported"),
    ],
)
def test_syntax_errors_say_what_and_where(template: str, message: str) -> None:
    with pytest.raises(TemplateSyntaxError) as raised:
        fm(template)
    assert message in raised.value.message
    assert raised.value.message.startswith("Syntax error in template at line ")


def test_ranges_are_lazy_and_cycles_cycle() -> None:
    assert fm("<#list 1..1000000000 as i>${i}<#if i == 3><#break></#if></#list>") == "123"
    assert fm("<#list 1..4 as i>${i?item_cycle('a', 'b')}</#list>") == "abab"
    with pytest.raises(TemplateRenderError, match="right-unbounded"):
        fm("<#list 1.. as i>${i}</#list>")


def test_hostile_templates_fail_as_template_errors_not_python_ones() -> None:
    with pytest.raises(TemplateError, match="nests too deeply"):
        fm("${" + "(" * 5000 + "1" + ")" * 5000 + "}")
    with pytest.raises(TemplateRenderError, match="malformed replacement"):
        fm("${'abc'?replace('(b)', '$7', 'r')}")
    with pytest.raises(TemplateRenderError, match="Unsupported date pattern letter 'Q'"):
        fm("${'2026-01-01'?date('yyyy-MM-dd')?string('QQ')}")
