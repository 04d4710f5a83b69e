"""The real exports through dbt staging: tombstones delete, the crosswalk loads as a seed."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from tests.test_real_exports import EDFI, EDFI_YML, ONEROSTER, ONEROSTER_YML, REAL
from wholechild import pipeline, transform
from wholechild.registry import load_registry

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not REAL.is_dir(), reason=f"the real sample exports are not here ({REAL})"),
]


def test_staging_honours_the_edfi_deletes_and_loads_the_crosswalk_seed(home, sources_dir):
    (sources_dir / "edfi.yml").write_text(EDFI_YML)
    (sources_dir / "grand_bend.yml").write_text(ONEROSTER_YML + "roster: true\n")
    registry = load_registry(sources_dir)
    assert registry.errors == []
    (home.landing / "edfi").mkdir(parents=True)
    for f in sorted(EDFI.iterdir()):
        shutil.copyfile(f, home.landing / "edfi" / f.name)
    bundle = home.landing / "grand_bend" / "grand_bend"
    shutil.copytree(ONEROSTER, bundle, copy_function=shutil.copyfile)
    bundle.chmod(0o755)
    outcomes = pipeline.process_pending(registry, home)
    assert {o.status for o in outcomes} == {"published"}

    select = "xwalk_edfi_descriptors stg_school stg_student stg_enrollment stg_section_enrollment"
    result = transform.build(registry, home, select=select)
    assert result.ok, result.output[-3000:]
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        schools = con.execute(
            "select source, school_id from staging.stg_school order by 1, 2"
        ).fetchall()
        seed = con.execute(
            "select count(*), count(distinct descriptor) from main.xwalk_edfi_descriptors"
        ).fetchone()
        counts = dict(
            con.execute(
                "select source, count(*) from staging.stg_student group by source"
            ).fetchall()
        )
        sections = con.execute("select count(*) from staging.stg_section_enrollment").fetchone()
    assert schools == [
        ("edfi", "255901001"),
        ("edfi", "255901002"),
        ("edfi", "255901003"),
        ("edfi", "255901004"),  # 255901005 was deleted by schools.deletes
        ("grand_bend", "255901001"),
    ]
    assert seed == (258, 16)
    assert counts == {"edfi": 500, "grand_bend": 8}
    assert sections == (20,)
