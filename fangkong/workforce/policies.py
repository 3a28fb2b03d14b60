"""Rules of the workforce the command centre may change while an outbreak runs."""

from pydantic import BaseModel, Field

from fangkong.core.policies import policy


class NoShow(BaseModel):
    minutes: int = Field(15, ge=1, le=240, description="minutes after a shift's start")


class CallOutRule(BaseModel):
    radius_km: float = Field(5.0, gt=0, le=200)
    open_minutes: int = Field(120, ge=5, le=24 * 60)
    shift_soon_minutes: int = Field(
        60,
        ge=0,
        le=24 * 60,
        description="workers whose shift starts within this many minutes are not called "
        "(unless the call-out is urgent to all)",
    )


class Duty(BaseModel):
    early_minutes: int = Field(30, ge=0, le=240, description="check in this early")
    code_days: int = Field(30, ge=1, le=366, description="posts' printed codes last")
    report_in_code_days: int = Field(30, ge=1, le=366)


class Weights(BaseModel):
    team_apart: float = Field(2.0, ge=0, le=100, description="a team member sent elsewhere")


class RotaRule(BaseModel):
    min_rest_hours: float = Field(8, ge=0, le=48)
    max_weekly_hours: float = Field(48, ge=8, le=112)


NO_SHOW = policy(
    "workforce.no_show",
    NoShow,
    default={"minutes": 15},
    description="A worker not checked in this many minutes after their shift starts is a "
    "no-show, flagged to the team leader and the community.",
)
CALL_OUT = policy(
    "workforce.call_out",
    CallOutRule,
    default={"radius_km": 5.0, "open_minutes": 120, "shift_soon_minutes": 60},
    description="Call-outs reach available workers within radius_km who offer that hour "
    "(their days, hours and nights) and whose next shift does not start within "
    "shift_soon_minutes (unless the call-out is urgent to all); they close after "
    "open_minutes if not filled.",
)
DUTY = policy(
    "workforce.duty",
    Duty,
    default={"early_minutes": 30, "code_days": 30, "report_in_code_days": 30},
    description="How early a worker may check in for a shift; how long printed post and "
    "community codes last.",
)
WEIGHTS = policy(
    "workforce.allocation_weights",
    Weights,
    default={"team_apart": 2.0},
    description="The app's cost terms added to the allocation's cost (distance, preferred "
    "skill, hours): a penalty for a team member placed away from the team.",
)
ROTA = policy(
    "workforce.rota",
    RotaRule,
    default={"min_rest_hours": 8, "max_weekly_hours": 48},
    description="Rotas: the least rest between two shifts of a worker, the most hours a "
    "worker is given in 7 days.",
)
