from django.db.models import IntegerField, Lookup


@IntegerField.register_lookup
class HasFlag(Lookup):
    """`tags__hasflag=Tag.BEDRIDDEN`: every bit of the right side is set."""

    lookup_name = "hasflag"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"({lhs} & {rhs}) = {rhs}", [*lhs_params, *rhs_params, *rhs_params]
